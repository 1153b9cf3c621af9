using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actors.Bench;

/// <summary>
/// License validations over HTTP: the real API (embedded silo, SQLite) in its own process on Kestrel, driven by HttpClient
/// from this process, beside a raw Kestrel process whose endpoint answers a constant of the same size. Throughput with
/// closed-loop callers (rounds alternate, best of each), then latency at a fixed offered rate (open loop).
/// </summary>
internal static class LicenseBenchmarks
{
    private const double FixedRate = 10_000;
    private const double LowerRate = 2_000;
    private const int Licenses = 100;

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        Console.WriteLine("licenses: validations over HTTP (API process on Kestrel) vs raw Kestrel constant");
        var api = RepoPaths.ProjectOutput("api", "CloudDeck.Api");
        if (!File.Exists(api)) throw new InvalidOperationException($"{api} is missing: run `dotnet build Actors.sln -c Release` first.");
        var data = Directory.CreateTempSubdirectory("clouddeck-bench-licenses-").FullName;
        var apiPort = FreePort();
        using var apiProcess = StartApi(api, data, apiPort);
        var (raw, rawPort) = await BenchProcesses.StartAsync("--kestrel");
        try
        {
            using var http = Client(256);
            var apiBase = new Uri($"http://127.0.0.1:{apiPort}");
            var rawBase = new Uri($"http://127.0.0.1:{rawPort}");
            await WaitHealthyAsync(http, new Uri(apiBase, "/healthz"));
            var keys = await IssueAsync(http, apiBase);
            var bodies = Enumerable.Range(0, keys.Count * 4)
                .Select(i => Encoding.UTF8.GetBytes($"{{\"license_key\":\"{keys[i % keys.Count]}\",\"machine_id\":\"machine-{i}\",\"version\":\"1.4.0\"}}"))
                .ToArray();
            var validate = new Uri(apiBase, "/api/v1/licenses/validate");
            var constant = new Uri(rawBase, "/validate");
            var sample = await PostAsync(http, validate, bodies[0]);
            Console.WriteLine($"  answer ({sample.Length} bytes): {sample}");

            Task<string> License(long n) => PostAsync(http, validate, bodies[n % bodies.Length]);
            Task<string> Constant(long n) => PostAsync(http, constant, bodies[n % bodies.Length]);

            // Each caller walks the machines from its own offset: callers in lockstep on one body would all ask one
            // license at once, and a license answers one validation at a time.
            static long Spread(int caller, long n) => caller * 7919L + n;

            // Warm both (JIT, connections, every license activated and every machine known).
            foreach (var body in bodies) await PostAsync(http, validate, body);
            await Measure.ThroughputAsync(options.Callers, options.Warmup, (c, n) => License(Spread(c, n)));
            await Measure.ThroughputAsync(options.Callers, options.Warmup, (c, n) => Constant(Spread(c, n)));

            double best = 0, bestRaw = 0;
            for (var round = 0; round < options.Rounds; round++)
            {
                bestRaw = Math.Max(bestRaw, await Measure.ThroughputAsync(options.Callers, options.Duration, (c, n) => Constant(Spread(c, n))));
                best = Math.Max(best, await Measure.ThroughputAsync(options.Callers, options.Duration, (c, n) => License(Spread(c, n))));
            }

            report.Add($"license validations/s over HTTP ({Licenses} licenses, {options.Callers} callers)", best, "raw Kestrel constant, same request", bestRaw);

            // The target rate, and a lower one for context on machines where the target saturates the API or the load generator.
            long counter = 0;
            foreach (var rate in new[] { FixedRate, LowerRate })
            {
                var licenseLatency = await Measure.LatencyAsync(rate, options.Duration, () => License(Interlocked.Increment(ref counter)));
                var rawLatency = await Measure.LatencyAsync(rate, options.Duration, () => Constant(Interlocked.Increment(ref counter)));
                report.Note($"license validate latency at {rate:N0}/s: p50 {licenseLatency.P50:F2} ms, p99 {licenseLatency.P99:F2} ms; " +
                            $"raw Kestrel constant p50 {rawLatency.P50:F2} ms, p99 {rawLatency.P99:F2} ms");
            }
        }
        finally
        {
            Stop(apiProcess);
            Stop(raw);
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The baseline: Kestrel with one route answering a constant the size of a validate answer.</summary>
    public static async Task<int> RunKestrelAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var constant = Encoding.UTF8.GetBytes(
            "{\"valid\":true,\"reason\":null,\"detail\":null,\"tier\":\"ENT\",\"expires_at\":null,\"features\":[\"core\",\"offline\",\"sso\",\"audit_export\"]," +
            "\"quotas\":{\"commands_per_day\":-1},\"cached_until\":\"2030-01-01T13:00:00.0000000+00:00\",\"max_devices\":-1,\"devices_used\":4}");
        app.MapPost("/validate", () => Results.Bytes(constant, "application/json"));
        await app.StartAsync();
        var address = app.Urls.First();
        Console.WriteLine($"READY {new Uri(address).Port}");
        await app.WaitForShutdownAsync();
        return 0;
    }

    private static Process StartApi(string api, string data, int port)
    {
        var start = new ProcessStartInfo(RepoPaths.DotnetHost) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(api);
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["CloudDeck__DataDirectory"] = data;
        // One load generator on one address: the per-address limit would measure itself.
        start.Environment["CloudDeck__Licenses__RequestsPerSecondPerAddress"] = "0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        return process;
    }

    /// <summary>A user (whose personal organization issues), signed in, and <see cref="Licenses"/> ENT licenses.</summary>
    private static async Task<List<string>> IssueAsync(HttpClient http, Uri api)
    {
        const string password = "bench horse battery staple";
        var signUp = await http.PostAsJsonAsync(new Uri(api, "/api/v1/auth/signup"), new { email = "bench@example.com", password });
        signUp.EnsureSuccessStatusCode();
        var login = await http.PostAsJsonAsync(new Uri(api, "/api/v1/auth/login"), new { email = "bench@example.com", password });
        login.EnsureSuccessStatusCode();
        var token = JsonNode.Parse(await login.Content.ReadAsStringAsync())!["access_token"]!.GetValue<string>();
        // Sign-up answers alike for new and registered addresses: the personal organization is read from the account.
        using var me = new HttpRequestMessage(HttpMethod.Get, new Uri(api, "/api/v1/me"));
        me.Headers.Authorization = new("Bearer", token);
        using var account = await http.SendAsync(me);
        account.EnsureSuccessStatusCode();
        var org = JsonNode.Parse(await account.Content.ReadAsStringAsync())!["organizations"]![0]!["slug"]!.GetValue<string>();
        var keys = new List<string>();
        for (var i = 0; i < Licenses; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api, $"/api/v1/orgs/{org}/licenses"))
            {
                Content = JsonContent.Create(new { tier = "ENT", name = $"bench {i}" }),
            };
            request.Headers.Authorization = new("Bearer", token);
            using var issued = await http.SendAsync(request);
            issued.EnsureSuccessStatusCode();
            keys.Add(JsonNode.Parse(await issued.Content.ReadAsStringAsync())!["license_key"]!.GetValue<string>());
        }

        return keys;
    }

    private static async Task<string> PostAsync(HttpClient http, Uri uri, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        using var response = await http.PostAsync(uri, content);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{uri} answered {(int)response.StatusCode}: {text}");
        return text;
    }

    private static HttpClient Client(int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseProxy = false,
        AllowAutoRedirect = false,
    }) { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task WaitHealthyAsync(HttpClient http, Uri health)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await http.GetAsync(health)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"{health} did not answer within 60 s.");
            await Task.Delay(200);
        }
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }
    }
}
