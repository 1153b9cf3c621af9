using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// The real API host (api/bin/Release: embedded silo on SQLite, local build executor, the edge) as a child process on a
/// free loopback port, with its own data directory, as a user runs it.
/// </summary>
internal sealed class ApiServer : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";
    private readonly ChildProcess _process;

    private ApiServer(ChildProcess process, Uri baseAddress, string dataDirectory)
    {
        _process = process;
        BaseAddress = baseAddress;
        DataDirectory = dataDirectory;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    public string DataDirectory { get; }

    /// <summary>The dependency cache of the build executor (CloudDeck:Builds:CacheDirectory's default).</summary>
    public string BuildCache => Path.Combine(DataDirectory, "build-cache");

    public HttpClient Http { get; }

    /// <param name="settings">More environment for the API process (<c>CloudDeck__…</c> settings a bench needs).</param>
    public static async Task<ApiServer> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var dll = RepoPaths.ProjectOutput("api", "CloudDeck.Api");
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} is missing: build api/CloudDeck.Api.csproj in Release.", dll);
        var port = ChildProcess.FreeTcpPort();
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["CloudDeck__DataDirectory"] = dataDirectory,
            // The benchmark account cannot verify its email (no mail leaves the process): it may upload and deploy what its runs need.
            ["CloudDeck__Accounts__UnverifiedStorageAllowanceMb"] = "1000000",
            ["CloudDeck__Accounts__UnverifiedDeployments"] = "1000000",
            ["CloudDeck__Plans__Hobby__StorageMb"] = "-1",
            ["CloudDeck__StorageProvider"] = null,
            ["CloudDeck__PostgresConnectionString"] = null,
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) environment[key] = value;
        var process = ChildProcess.Start(RepoPaths.DotnetHost, [dll], environment, Path.GetDirectoryName(dll));
        var api = new ApiServer(process, new Uri($"http://127.0.0.1:{port}/"), dataDirectory);
        try
        {
            await HealthWait.UntilHealthyAsync(api.Http, process);
            return api;
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh access token of the bench's account.</summary>
    public async Task<string> LoginAsync(string email)
    {
        using var login = await Http.PostAsJsonAsync("api/v1/auth/login", new { email, password = Password });
        return AccessToken(await Expect(login));
    }

    /// <summary>A login answer's access token, spelled as the API of this commit spells it (camelCase before the snake_case contract).</summary>
    private static string AccessToken(JsonNode login) => login["access_token"]!.GetValue<string>();

    /// <returns>The user's personal organization.</returns>
    public async Task<string> SignUpAsync(string email)
    {
        using var signUp = await Http.PostAsJsonAsync("api/v1/auth/signup", new { email, password = Password });
        await Expect(signUp);
        using var login = await Http.PostAsJsonAsync("api/v1/auth/login", new { email, password = Password });
        // Sign-up answers alike for new and registered addresses: the personal organization is read from the account.
        using var me = new HttpRequestMessage(HttpMethod.Get, "api/v1/me");
        me.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken(await Expect(login)));
        using var account = await Http.SendAsync(me);
        return (await Expect(account))["organizations"]![0]!["slug"]!.GetValue<string>();
    }

    private static async Task<JsonNode> Expect(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}");
        }

        return JsonNode.Parse(text)!;
    }

    /// <summary>The body the edge serves for <paramref name="host"/>'s root, or null when it does not answer 200.</summary>
    public async Task<string?> ServedAsync(string host, string path = "/")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = $"{host}:{BaseAddress.Port}";
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        using var response = await Http.SendAsync(request);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
    }

    public string Log => _process.Output;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        _process.Kill(Signal.SIGTERM);
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await _process.DisposeAsync();
    }
}
