using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Testing;
using CloudDeck.Diagnostics;

namespace CloudDeck.Logs.Bench;

internal sealed record BenchUser(string AccessToken, string Organization);

/// <summary>
/// The real API (api/bin/Release, embedded silo on SQLite, synthetic builds enabled) as a child process on a free
/// loopback port, as a user would run it.
/// </summary>
internal sealed class CloudDeckApi : IAsyncDisposable
{
    private const string Password = "correct horse battery staple";
    private readonly ChildProcess _process;
    private readonly HttpClient _http;

    private CloudDeckApi(ChildProcess process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        _http = new HttpClient { BaseAddress = baseAddress };
    }

    public Uri BaseAddress { get; }

    public static async Task<CloudDeckApi> StartAsync(string dataDirectory)
    {
        var dll = RepoPaths.ProjectOutput("api", "CloudDeck.Api");
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: build api/CloudDeck.Api.csproj in Release.", dll);
        var port = ChildProcess.FreeTcpPort();
        var process = ChildProcess.Start(RepoPaths.DotnetHost, [dll], new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["CloudDeck__DataDirectory"] = dataDirectory,
            ["CloudDeck__StorageProvider"] = null,
            ["CloudDeck__PostgresConnectionString"] = null,
        }.WithDiagnostics(), Path.GetDirectoryName(dll));
        var api = new CloudDeckApi(process, new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            await HealthWait.UntilHealthyAsync(api._http, process);
            return api;
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }
    }

    public async Task<BenchUser> SignUpAsync(string email)
    {
        await PostAsync("api/v1/auth/signup", new { email, password = Password }, token: null);
        var session = await PostAsync("api/v1/auth/login", new { email, password = Password }, token: null);
        var accessToken = session["access_token"]!.GetValue<string>();
        // Sign-up answers alike for new and registered addresses: the personal organization is read from the account.
        using var me = new HttpRequestMessage(HttpMethod.Get, "api/v1/me");
        me.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await _http.SendAsync(me);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET api/v1/me answered {(int)response.StatusCode}: {text}");
        return new BenchUser(accessToken, JsonNode.Parse(text)!["organizations"]![0]!["slug"]!.GetValue<string>());
    }

    public async Task<string> StartBuildAsync(BenchUser user, LogBenchOptions options) =>
        (await PostAsync("_diag/builds", new { org = user.Organization, lines = options.Lines, lines_per_second = options.Rate, line_bytes = options.LineBytes },
            user.AccessToken))["id"]!.GetValue<string>();

    private async Task<JsonNode> PostAsync(string path, object body, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        _process.Kill(Signal.SIGTERM);
        if (!await _process.WaitForExitAsync(TimeSpan.FromSeconds(30))) _process.Kill();
        await _process.DisposeAsync();
    }
}
