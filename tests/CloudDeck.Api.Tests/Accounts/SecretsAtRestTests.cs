using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Builds.Executor;
using CloudDeck.Grains.Projects;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// TOTP keys and credentials inside git URLs are encrypted at rest with the secrets key, as environment variables are
/// (issue 22): the stored state (the SQLite grain_state payloads) holds neither, MFA sign-in and a git fetch with the
/// credentialed URL still work, and state written before the change in clear still loads and is sealed on first use.
/// </summary>
public sealed class SecretsAtRestTests : IAsyncDisposable
{
    private const string GitUser = "deploy-bot";
    private const string GitPassword = "Pa55-gitpw-9f2c1e";

    private readonly InProcessApi _api = new(settings: new Dictionary<string, string?>
    {
        // The test's git server listens on loopback, which git URLs may name only when the operator allows it.
        ["CloudDeck:Projects:AllowedGitHosts"] = "127.0.0.1/32",
    });

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_TOTP_key_is_stored_encrypted_MFA_sign_in_works_and_a_key_stored_in_clear_before_is_sealed_on_first_use()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var enrollment = (await _api.PostAsync("/api/v1/me/mfa/enroll", null, ada.AccessToken)).Expect(HttpStatusCode.OK);
        var base32 = System.Web.HttpUtility.ParseQueryString(new Uri(enrollment.Text("otp_auth_uri")).Query)["secret"]!;
        var key = Totp.Base32Decode(base32);
        AssertAbsent(await StoredUserAsync(_api.DataDirectory, ada.UserId), base32, key);
        (await _api.PostAsync("/api/v1/me/mfa/verify", new { code = Totp.Compute(key, Totp.TimeStep(_api.Clock.GetUtcNow())) }, ada.AccessToken))
            .Expect(HttpStatusCode.OK);
        var stored = await StoredUserAsync(_api.DataDirectory, ada.UserId);
        AssertAbsent(stored, base32, key);
        Assert.False(string.IsNullOrEmpty(stored["sealedTotpSecret"]?.GetValue<string>()), "the key is kept, sealed");

        _api.Clock.Advance(Totp.Step);
        await SignInWithMfaAsync(_api, ada, key);

        // An account stored before keys were sealed: the key in clear, no sealed copy.
        var now = _api.Clock.GetUtcNow();
        await _api.DisposeAsync(keepData: true);
        await RewriteStateAsync(_api.DataDirectory, ada.UserId, "user", state =>
        {
            state["totpSecret"] = base32;
            state["sealedTotpSecret"] = null;
        });
        Assert.Contains(base32, (await StoredUserAsync(_api.DataDirectory, ada.UserId)).ToJsonString(), StringComparison.Ordinal);
        await using var restarted = new InProcessApi(_api.DataDirectory);
        restarted.Clock.Set(now + Totp.Step);

        await SignInWithMfaAsync(restarted, ada, key);
        AssertAbsent(await StoredUserAsync(restarted.DataDirectory, ada.UserId), base32, key);
    }

    [Fact]
    public async Task Credentials_in_a_git_url_are_stored_encrypted_masked_in_answers_still_fetch_and_ones_stored_in_clear_before_are_sealed()
    {
        Need.Component(Requirement.Check(File.Exists("/usr/bin/git") || File.Exists("/usr/local/bin/git"), "git", "apt-get install git"));
        var served = Directory.CreateTempSubdirectory("clouddeck-git-served-").FullName;
        await using var server = await GitHttpsServer.StartAsync(served, IPAddress.Loopback, "localhost", GitUser, GitPassword);
        await server.CreateRepositoryAsync("site", new Dictionary<string, string> { ["index.html"] = "fetched with credentials" });
        var url = $"https://{GitUser}:{GitPassword}@127.0.0.1:{server.Port}/site.git";
        var masked = $"https://***@127.0.0.1:{server.Port}/site.git";
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var org = ada.PersonalOrganization;

        var created = (await _api.PostAsync($"/api/v1/orgs/{org}/projects", new { name = "web", git_url = url }, ada.AccessToken)).Expect(HttpStatusCode.Created);
        Assert.Equal(masked, created.Text("git_url"));
        Assert.Equal(masked, (await _api.GetAsync($"/api/v1/orgs/{org}/projects/web", ada.AccessToken)).Expect(HttpStatusCode.OK).Text("git_url"));
        var listed = (await _api.GetAsync($"/api/v1/orgs/{org}/projects", ada.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal(masked, listed.Items().Single()!.Text("git_url"));
        Assert.DoesNotContain(_api.Responses, body => body.Contains(GitPassword, StringComparison.Ordinal));
        await AssertNowhereStoredAsync(_api.DataDirectory, GitPassword);

        // Builds get the URL in clear, and git fetches with it.
        Assert.Equal("fetched with credentials", await FetchAsync(_api, $"{org}/web", server));

        // A project stored before credentials were sealed: the whole URL in clear.
        var now = _api.Clock.GetUtcNow();
        await _api.DisposeAsync(keepData: true);
        await RewriteStateAsync(_api.DataDirectory, $"{org}/web", "project", state =>
        {
            state["gitUrl"] = url;
            state["sealedGitUrl"] = null;
        });
        await using var restarted = new InProcessApi(_api.DataDirectory, new Dictionary<string, string?> { ["CloudDeck:Projects:AllowedGitHosts"] = "127.0.0.1/32" });
        restarted.Clock.Set(now);
        await restarted.LoginAsync(ada);

        Assert.Equal(masked, (await restarted.GetAsync($"/api/v1/orgs/{org}/projects/web", ada.AccessToken)).Expect(HttpStatusCode.OK).Text("git_url"));
        await AssertNowhereStoredAsync(restarted.DataDirectory, GitPassword);
        Assert.Equal("fetched with credentials", await FetchAsync(restarted, $"{org}/web", server));
    }

    /// <summary>Clones the project's source the way a build does: the plan's URL, checked and pinned by the git host policy.</summary>
    private static async Task<string> FetchAsync(InProcessApi api, string projectKey, GitHttpsServer server)
    {
        var plan = await api.Grains.GetGrain<IProjectGrain>(projectKey).GetBuildPlan(ProjectEnvironments.Production);
        Assert.Contains(GitPassword, plan.Project.GitUrl, StringComparison.Ordinal);
        var destination = Path.Combine(api.DataDirectory, "clone-" + Guid.NewGuid().ToString("N"));
        var streams = api.Services.GetRequiredService<ILogStreamProvider>();
        var log = new BuildLogWriter(streams.GetStream<BuildLogLine>(BuildLogs.Namespace, BuildIds.New()), TimeProvider.System, NullLogger.Instance);
        await log.StartAsync();
        log.Masker.AddUrl(plan.Project.GitUrl);
        var environment = new Dictionary<string, string>
        {
            ["GIT_SSL_CAINFO"] = server.CaCertificatePath, ["HOME"] = api.DataDirectory, ["PATH"] = Environment.GetEnvironmentVariable("PATH")!,
        };
        await SourceFetcher.FetchGitAsync(plan.Project.GitUrl!, "main", destination, environment, allowFile: false,
            api.Services.GetRequiredService<GitHostPolicy>(), log, Cancellation);
        await log.DisposeAsync();
        return await File.ReadAllTextAsync(Path.Combine(destination, "index.html"), Cancellation);
    }

    private static async Task SignInWithMfaAsync(InProcessApi api, Account account, byte[] key)
    {
        var first = (await api.PostAsync("/api/v1/auth/login", new { email = account.Email, password = account.Password })).Expect(HttpStatusCode.OK);
        Assert.True(first["mfa_required"]?.GetValue<bool>() == true, first.ToJsonString());
        var code = Totp.Compute(key, Totp.TimeStep(api.Clock.GetUtcNow()));
        var second = (await api.PostAsync("/api/v1/auth/login/mfa", new { challenge = first.Text("challenge"), code })).Expect(HttpStatusCode.OK);
        Assert.False(string.IsNullOrEmpty(second.Text("access_token")));
    }

    /// <summary>Neither the base32 text nor the raw key (as hex or base64) is in the stored state.</summary>
    private static void AssertAbsent(JsonNode stored, string base32, byte[] key)
    {
        var text = stored.ToJsonString();
        Assert.DoesNotContain(base32, text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToHexString(key), text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToBase64String(key).TrimEnd('='), text, StringComparison.Ordinal);
    }

    private static string Database(string dataDirectory) => $"Data Source={Path.Combine(dataDirectory, "clouddeck.db")};Pooling=False";

    private static async Task<JsonNode> StoredUserAsync(string dataDirectory, string userId)
    {
        await using var connection = new SqliteConnection(Database(dataDirectory) + ";Mode=ReadOnly");
        await connection.OpenAsync(Cancellation);
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT payload FROM grain_state WHERE grain_key = $key AND state_name = 'user'";
        select.Parameters.AddWithValue("$key", userId);
        return JsonNode.Parse((byte[])(await select.ExecuteScalarAsync(Cancellation))!)!;
    }

    /// <summary>Every stored state of every grain: the secret appears in none.</summary>
    private static async Task AssertNowhereStoredAsync(string dataDirectory, string secret)
    {
        await using var connection = new SqliteConnection(Database(dataDirectory) + ";Mode=ReadOnly");
        await connection.OpenAsync(Cancellation);
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT grain_type, grain_key, state_name, payload FROM grain_state WHERE payload IS NOT NULL";
        await using var rows = await select.ExecuteReaderAsync(Cancellation);
        var states = 0;
        while (await rows.ReadAsync(Cancellation))
        {
            states++;
            var payload = Encoding.UTF8.GetString((byte[])rows["payload"]);
            Assert.False(payload.Contains(secret, StringComparison.Ordinal), $"{rows["grain_type"]}/{rows["grain_key"]}/{rows["state_name"]} stores the secret: {payload}");
        }

        Assert.True(states > 0, "the database holds grain state");
    }

    /// <summary>Changes one stored state as a build from before the change would have written it (the host is stopped).</summary>
    private static async Task RewriteStateAsync(string dataDirectory, string grainKey, string stateName, Action<JsonObject> change)
    {
        await using var connection = new SqliteConnection(Database(dataDirectory));
        await connection.OpenAsync(Cancellation);
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT payload FROM grain_state WHERE grain_key = $key AND state_name = $name";
        select.Parameters.AddWithValue("$key", grainKey);
        select.Parameters.AddWithValue("$name", stateName);
        var state = JsonNode.Parse((byte[])(await select.ExecuteScalarAsync(Cancellation))!)!.AsObject();
        change(state);
        await using var update = connection.CreateCommand();
        update.CommandText = "UPDATE grain_state SET payload = $payload WHERE grain_key = $key AND state_name = $name";
        update.Parameters.AddWithValue("$payload", Encoding.UTF8.GetBytes(state.ToJsonString()));
        update.Parameters.AddWithValue("$key", grainKey);
        update.Parameters.AddWithValue("$name", stateName);
        Assert.Equal(1, await update.ExecuteNonQueryAsync(Cancellation));
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
