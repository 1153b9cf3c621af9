using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Testing;

namespace CloudDeck.Telemetry.Bench;

/// <summary>
/// One real CloudDeck.Api process (embedded silo, SQLite, its own data directory) set up for the bench: licenses issued,
/// a one-page site deployed to production.
/// </summary>
internal sealed class ApiUnderTest : IAsyncDisposable
{
    private const string Password = "bench horse battery staple";
    private readonly string _data;

    private ApiUnderTest(string name, ChildProcess process, Uri address, string data)
    {
        Name = name;
        Process = process;
        Address = address;
        _data = data;
    }

    public string Name { get; }

    public ChildProcess Process { get; }

    public Uri Address { get; }

    public IReadOnlyList<byte[]> ValidateBodies { get; private set; } = [];

    public string SiteHost { get; private set; } = "";

    /// <param name="environment">What differs between the two: telemetry off, or OTLP to the receiver.</param>
    public static async Task<ApiUnderTest> StartAsync(string name, IReadOnlyDictionary<string, string?> environment, int licenses)
    {
        var dll = RepoPaths.ProjectOutput("api", "CloudDeck.Api");
        if (!File.Exists(dll)) throw new InvalidOperationException($"{dll} is missing: run `dotnet build Actors.sln -c Release` first.");
        var data = Directory.CreateTempSubdirectory("clouddeck-bench-telemetry-").FullName;
        var port = ChildProcess.FreeTcpPort();
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["CloudDeck__DataDirectory"] = data,
            // One load generator on one address: the per-address limit would measure itself.
            ["CloudDeck__Licenses__RequestsPerSecondPerAddress"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in environment) env[key] = value;
        var process = ChildProcess.Start(RepoPaths.DotnetHost, [dll], env, workingDirectory: Path.GetDirectoryName(dll));
        var api = new ApiUnderTest(name, process, new Uri($"http://127.0.0.1:{port}"), data);
        await api.SetUpAsync(licenses);
        return api;
    }

    private async Task SetUpAsync(int licenses)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(200))
        {
            if (Process.HasExited) throw new InvalidOperationException($"{Name}: the API exited:\n{Process.Output}");
            try
            {
                if ((await http.GetAsync("/healthz")).IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }
        }

        await CallAsync(http, HttpMethod.Post, "/api/v1/auth/signup", new { email = "bench@example.com", password = Password });
        var token = (await CallAsync(http, HttpMethod.Post, "/api/v1/auth/login", new { email = "bench@example.com", password = Password }))["access_token"]!.GetValue<string>();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        // Sign-up answers only {email, detail}: the personal organization is read from the account.
        var org = (await CallAsync(http, HttpMethod.Get, "/api/v1/me", null))["organizations"]![0]!["slug"]!.GetValue<string>();
        var keys = new List<string>();
        for (var i = 0; i < licenses; i++)
        {
            keys.Add((await CallAsync(http, HttpMethod.Post, $"/api/v1/orgs/{org}/licenses", new { tier = "ENT", name = $"bench {i}" }))["license_key"]!.GetValue<string>());
        }

        // Each license validated from four machines, as the license bench does.
        ValidateBodies = [.. Enumerable.Range(0, keys.Count * 4).Select(i =>
            Encoding.UTF8.GetBytes($"{{\"license_key\":\"{keys[i % keys.Count]}\",\"machine_id\":\"machine-{i}\",\"version\":\"1.4.0\"}}"))];

        await CallAsync(http, HttpMethod.Post, $"/api/v1/orgs/{org}/projects", new { name = "site" });
        var page = Encoding.UTF8.GetBytes("<!doctype html><title>bench</title><h1>" + new string('x', 2048) + "</h1>");
        var sha = Convert.ToHexStringLower(SHA256.HashData(page));
        using (var upload = new ByteArrayContent(page))
        {
            upload.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            (await http.PutAsync($"/api/v1/orgs/{org}/files/{sha}", upload)).EnsureSuccessStatusCode();
        }

        var id = (await CallAsync(http, HttpMethod.Post, $"/api/v1/orgs/{org}/projects/site/deployments",
            new { target = "production", files = new[] { new { path = "index.html", sha256 = sha, size = page.Length } } }))["id"]!.GetValue<string>();
        for (var deadline = DateTime.UtcNow.AddMinutes(2); ; await Task.Delay(100))
        {
            var status = (await CallAsync(http, HttpMethod.Get, $"/api/v1/deployments/{id}", null))["status"]!.GetValue<string>();
            if (status == "ready") break;
            if (status != "building" || DateTime.UtcNow > deadline) throw new InvalidOperationException($"{Name}: deployment {id} is {status}");
        }

        SiteHost = (await CallAsync(http, HttpMethod.Get, $"/api/v1/orgs/{org}/projects/site", null))["production_host"]!.GetValue<string>();
    }

    private async Task<JsonNode> CallAsync(HttpClient http, HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{Name}: {method} {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    public override string ToString() => Name;

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static string Format(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
