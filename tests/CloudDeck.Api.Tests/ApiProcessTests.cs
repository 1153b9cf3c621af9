using System.Net;
using System.Net.Http.Json;

namespace CloudDeck.Api.Tests;

/// <summary>
/// The real API host as a child process (embedded silo): state written through a grain survives
/// SIGKILL and restarts, SIGTERM deactivates activations (writing their state) and exits 0, bad input
/// gets ProblemDetails, and a misconfigured host refuses to start.
/// </summary>
public sealed class ApiProcessTests(PostgresFixture postgres) : ProcessTest
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The JSON the probe endpoints return (CloudDeck.GrainInterfaces.Diagnostics.ProbeView).</summary>
    private sealed record ProbeView(string Key, string? Value, long Writes, string? Etag);

    private sealed record HealthView(string Status, int Activations);

    private sealed record Problem(string? Title, string? Detail, int? Status);

    [Fact]
    public async Task Sqlite_written_value_survives_SIGKILL()
    {
        await WrittenValueSurvivesSigkill(environment: null);
        Assert.True(File.Exists(Path.Combine(DataDirectory, "clouddeck.db")), "The SQLite database should live in CloudDeck:DataDirectory.");
    }

    [Fact]
    public async Task Postgres_written_value_survives_SIGKILL()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("api", Cancellation);
        await WrittenValueSurvivesSigkill(new Dictionary<string, string?>
        {
            ["CloudDeck__StorageProvider"] = "Postgres",
            ["CloudDeck__PostgresConnectionString"] = connectionString,
        });
        Assert.False(File.Exists(Path.Combine(DataDirectory, "clouddeck.db")), "Postgres mode should not create a SQLite database.");
    }

    [Fact]
    public async Task SIGTERM_deactivates_activations_writes_staged_state_and_exits_0()
    {
        const string key = "graceful";
        var first = await StartApiAsync();
        var staged = await PutProbe(first, key, new { value = "staged", stage = true });
        Assert.Equal("staged", staged.Value);

        first.Process.Kill(Signal.SIGTERM);
        Assert.True(await first.Process.WaitForExitAsync(ExitTimeout, Cancellation),
            $"CloudDeck.Api did not exit within {ExitTimeout} of SIGTERM.\n{first.Describe()}");
        Assert.True(first.Process.ExitCode == 0, $"SIGTERM should end CloudDeck.Api with 0, got {first.Process.ExitCode}.\n{first.Describe()}");

        var second = await StartApiAsync();
        var read = await GetProbe(second, key);
        Assert.True(read.Value == "staged",
            $"The staged value should have been written on deactivation; read {read}.\n--- first run ---\n{first.Describe()}");
        Assert.Equal(1, read.Writes);
    }

    [Fact]
    public async Task Bad_probe_input_gets_400_problem_details()
    {
        var api = await StartApiAsync();

        // '!' (sent as %21; routing decodes it) and an over-long key.
        foreach (var key in new[] { "bad%21key", new string('k', 200) })
        {
            using var put = await api.Http.PutAsJsonAsync($"_diag/probe/{key}", new { value = "x" }, Cancellation);
            await AssertProblem(put, "probe key");
            using var get = await api.Http.GetAsync(new Uri($"_diag/probe/{key}", UriKind.Relative), Cancellation);
            await AssertProblem(get, "probe key");
        }

        using (var noValue = await api.Http.PutAsJsonAsync("_diag/probe/fine", new { stage = false }, Cancellation))
        {
            await AssertProblem(noValue, "\"value\"");
        }

        using (var health = await api.Http.GetAsync(new Uri("healthz", UriKind.Relative), Cancellation))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            var view = await health.Content.ReadFromJsonAsync<HealthView>(Cancellation);
            Assert.Equal("ok", view?.Status);
        }
    }

    private static readonly HttpStatusCode[] NoSuchRoute = [HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed];

    [Fact]
    public async Task Without_the_diagnostics_startup_hook_the_API_maps_no_diag_routes()
    {
        // ApiHost loads tests/CloudDeck.Diagnostics as a startup hook; without it this is the API as it ships.
        var api = await StartApiAsync(new Dictionary<string, string?> { ["DOTNET_STARTUP_HOOKS"] = null });

        // The dashboard's pages answer GET on any other path, so a PUT or POST there is a 405; a diag route would take it.
        using (var put = await api.Http.PutAsJsonAsync("_diag/probe/shipped", new { value = "x" }, Cancellation))
        {
            Assert.Contains(put.StatusCode, NoSuchRoute);
        }

        using (var build = await api.Http.PostAsJsonAsync("_diag/builds", new { org = "acme" }, Cancellation))
        {
            Assert.Contains(build.StatusCode, NoSuchRoute);
        }

        using var health = await api.Http.GetAsync(new Uri("healthz", UriKind.Relative), Cancellation);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task A_chunked_body_over_64_KiB_gets_400_problem_details_from_Kestrel()
    {
        var api = await StartApiAsync();
        // No Content-Length to refuse by: Kestrel's own limit (set per request) and the count while reading must stop it.
        using var content = new ChunkedJson($$"""{"email":"ada@example.com","password":"not the password","padding":"{{new string('x', 80 * 1024)}}"}""");
        using var response = await api.Http.PostAsync(new Uri("api/v1/auth/login", UriKind.Relative), content, Cancellation);
        await AssertProblem(response, "body must be at most 65536 bytes");
    }

    [Fact]
    public async Task Postgres_without_connection_string_fails_on_start_naming_the_setting()
    {
        var process = Track(ApiHost.Launch(ChildProcess.FreeTcpPort(), DataDirectory, new Dictionary<string, string?>
        {
            ["CloudDeck__StorageProvider"] = "Postgres",
        }));

        Assert.True(await process.WaitForExitAsync(ApiHost.StartTimeout, Cancellation),
            $"A Postgres host without a connection string should refuse to start.\n{ApiHost.Describe(process)}");
        Assert.True(process.ExitCode == 1, $"A misconfigured host should exit 1, not crash.\n{ApiHost.Describe(process)}");
        Assert.Contains("CloudDeck:PostgresConnectionString", process.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CloudDeck__Auth__SigningKey", "too-short", "CloudDeck:Auth:SigningKey")]
    [InlineData("CloudDeck__Auth__AccountFailureLimit", "0", "CloudDeck:Auth:AccountFailureLimit")]
    [InlineData("CloudDeck__Auth__LinkBaseUrl", "not a url", "CloudDeck:Auth:LinkBaseUrl")]
    [InlineData("CloudDeck__Auth__MaxLoginBackoff", "00:00:10", "CloudDeck:Auth:MaxLoginBackoff")]
    [InlineData("CloudDeck__Accounts__MaxOrganizationsPerUser", "-1", "CloudDeck:Accounts:MaxOrganizationsPerUser")]
    [InlineData("CloudDeck__Licenses__SigningKey", "not a pem", "CloudDeck:Licenses:SigningKey")]
    [InlineData("CloudDeck__Licenses__Tiers__GOLD__MaxDevices", "5", "CloudDeck:Licenses:Tiers:GOLD")]
    [InlineData("CloudDeck__Licenses__Tiers__PRO__MaxDevices", "0", "CloudDeck:Licenses:Tiers:PRO:MaxDevices")]
    [InlineData("CloudDeck__Plans__Hobby__TeamMembers", "lots", "CloudDeck:Plans:Hobby:TeamMembers")]
    [InlineData("CloudDeck__Plans__Pro__BuildsPerDay", "-2", "CloudDeck:Plans:Pro:BuildsPerDay")]
    [InlineData("CloudDeck__Plans__Gold__Projects", "5", "CloudDeck:Plans:Gold")]
    [InlineData("CloudDeck__Plans__Team__BuildsPerMonth", "5", "CloudDeck:Plans:Team:BuildsPerMonth")]
    [InlineData("CloudDeck__Http__KnownProxies", "10.0.0.1,proxy.internal", "CloudDeck:Http:KnownProxies must list IP addresses (was 'proxy.internal')")]
    public async Task A_wrong_auth_setting_fails_on_start_naming_the_setting(string variable, string value, string setting)
    {
        var process = Track(ApiHost.Launch(ChildProcess.FreeTcpPort(), DataDirectory, new Dictionary<string, string?> { [variable] = value }));

        Assert.True(await process.WaitForExitAsync(ApiHost.StartTimeout, Cancellation), $"A wrong {setting} should stop the host.\n{ApiHost.Describe(process)}");
        Assert.True(process.ExitCode == 1, $"A misconfigured host should exit 1, not crash.\n{ApiHost.Describe(process)}");
        Assert.Contains(setting, process.Output, StringComparison.Ordinal);
    }

    private async Task WrittenValueSurvivesSigkill(IReadOnlyDictionary<string, string?>? environment)
    {
        const string key = "survivor-1";
        var first = await StartApiAsync(environment);
        var written = await PutProbe(first, key, new { value = "v1" });
        Assert.Equal(key, written.Key);
        Assert.Equal("v1", written.Value);
        Assert.Equal(1, written.Writes);

        // No shutdown path at all: what the PUT acknowledged must already be in storage.
        first.Process.Kill(Signal.SIGKILL);
        Assert.True(await first.Process.WaitForExitAsync(ExitTimeout, Cancellation), $"SIGKILL did not end the process.\n{first.Describe()}");
        Assert.Equal(137, first.Process.ExitCode);

        var second = await StartApiAsync(environment);
        var read = await GetProbe(second, key);
        Assert.Equal("v1", read.Value);
        Assert.Equal(1, read.Writes);
    }

    private static async Task<ProbeView> PutProbe(ApiHost api, string key, object body)
    {
        using var response = await api.Http.PutAsJsonAsync($"_diag/probe/{key}", body, Cancellation);
        return await ReadProbe(api, response);
    }

    private static async Task<ProbeView> GetProbe(ApiHost api, string key)
    {
        using var response = await api.Http.GetAsync(new Uri($"_diag/probe/{key}", UriKind.Relative), Cancellation);
        return await ReadProbe(api, response);
    }

    private static async Task<ProbeView> ReadProbe(ApiHost api, HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK,
            $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}\n{api.Describe()}");
        var view = await response.Content.ReadFromJsonAsync<ProbeView>(Cancellation);
        Assert.NotNull(view);
        return view;
    }

    private static async Task AssertProblem(HttpResponseMessage response, string detailMentions)
    {
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        var request = $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}";
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{request} answered {(int)response.StatusCode}, expected 400: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<Problem>(Cancellation);
        Assert.Equal(400, problem?.Status);
        Assert.False(string.IsNullOrWhiteSpace(problem?.Detail), $"{request}: the problem should say what was wrong: {text}");
        Assert.Contains(detailMentions, problem.Detail, StringComparison.Ordinal);
    }
}
