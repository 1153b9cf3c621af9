using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// <c>./build.sh bench creations [--deployments 300] [--clients 16] [--rounds 3]</c>
/// Deployments created per second: <c>POST …/projects/site/deployments</c> with the manifest of an upload the API already
/// stores (one file, a project with no build commands), from <c>--clients</c> concurrent HTTP clients, against the real
/// API process. Each round creates <c>--deployments</c> and is timed from the first request to the last answer; then
/// the builds it queued drain, untimed, so every round starts alike. The figure is API-level, so the same bench measures
/// any commit: run it on two checkouts on the same machine to compare them.
/// </summary>
internal static class CreationBench
{
    private static readonly Dictionary<string, string?> Settings = new()
    {
        // Every creation is accepted (the bench measures creating, not refusing), and builds run one at a time, as on Hobby.
        ["CloudDeck__Plans__Hobby__DeploymentsPerDay"] = "-1",
        ["CloudDeck__Plans__Hobby__BuildsPerDay"] = "-1",
        ["CloudDeck__Plans__Hobby__BuildMinutesPerMonth"] = "-1",
        ["CloudDeck__Plans__Hobby__ConcurrentBuilds"] = "1",
        // The builds are not what is measured: unsandboxed, they drain between rounds sooner.
        ["CloudDeck__Builds__Isolation"] = "none",
    };

    public static async Task<int> RunAsync(int deployments, int clients, int rounds)
    {
        var work = Directory.CreateTempSubdirectory("clouddeck-creation-bench-").FullName;
        Console.WriteLine($"CloudDeck.Deploy.Bench --creations on {Environment.ProcessorCount} cores, .NET {Environment.Version}, load {Load()}: " +
                          $"{deployments} deployments × {rounds} rounds, {clients} clients, commit {Commit()}");
        try
        {
            await using var api = await ApiServer.StartAsync(Path.Combine(work, "data"), Settings);
            const string email = "bench@example.com";
            var org = await api.SignUpAsync(email);
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await api.LoginAsync(email));
            await Expect(await http.PostAsJsonAsync($"api/v1/orgs/{org}/projects", new { name = "site", framework = "static" }), HttpStatusCode.Created);
            var content = Encoding.UTF8.GetBytes("<h1>creation bench</h1>");
            var sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
            await Expect(await http.PutAsync($"api/v1/orgs/{org}/files/{sha256}", new ByteArrayContent(content)), HttpStatusCode.Created, HttpStatusCode.OK, HttpStatusCode.NoContent);
            var body = new { target = "preview", files = new[] { new { path = "index.html", sha256, size = content.Length } } };
            var path = $"api/v1/orgs/{org}/projects/site/deployments";

            // Warm-up (not counted): JIT, the first activations and SQLite's pages.
            await RoundAsync(http, path, body, Math.Min(50, deployments), clients);
            await DrainAsync(http, path);
            var results = new List<(double PerSecond, double P50, double P95)>();
            for (var round = 1; round <= rounds; round++)
            {
                var result = await RoundAsync(http, path, body, deployments, clients);
                results.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round}: {result.PerSecond,8:N1} deployments/s   latency p50 {result.P50,6:N1} ms, p95 {result.P95,6:N1} ms   (load {Load()})"));
                await DrainAsync(http, path);
            }

            var best = results.MaxBy(r => r.PerSecond);
            var median = results.OrderBy(r => r.PerSecond).ElementAt(results.Count / 2);
            Console.WriteLine();
            Console.WriteLine("| measure | best round | median round |");
            Console.WriteLine("| --- | ---: | ---: |");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| deployments created/s ({clients} clients) | {best.PerSecond:N1} | {median.PerSecond:N1} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| creation latency p50 / p95 | {best.P50:N1} / {best.P95:N1} ms | {median.P50:N1} / {median.P95:N1} ms |"));
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<(double PerSecond, double P50, double P95)> RoundAsync(HttpClient http, string path, object body, int deployments, int clients)
    {
        var next = 0;
        var latencies = new double[deployments];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next) - 1; i < deployments; i = Interlocked.Increment(ref next) - 1)
            {
                var started = clock.Elapsed;
                await Expect(await http.PostAsJsonAsync(path, body), HttpStatusCode.Created);
                latencies[i] = (clock.Elapsed - started).TotalMilliseconds;
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return (deployments / elapsed, latencies[latencies.Length / 2], latencies[(int)(latencies.Length * 0.95)]);
    }

    /// <summary>Waits until the newest deployment has left building: builds run in creation order, so every one has.</summary>
    private static async Task DrainAsync(HttpClient http, string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(20);
        while (DateTime.UtcNow < deadline)
        {
            var page = await Expect(await http.GetAsync(path + "?limit=1"), HttpStatusCode.OK);
            // The list's shape differs across commits (an array in an envelope either way): its first array's first item.
            var newest = (page as JsonObject)?.Select(p => p.Value).OfType<JsonArray>().FirstOrDefault()?.FirstOrDefault();
            if (newest?["status"]?.GetValue<string>() is not "building") return;
            await Task.Delay(500);
        }

        throw new TimeoutException("The builds did not drain within 20 minutes.");
    }

    private static async Task<JsonNode> Expect(HttpResponseMessage response, params HttpStatusCode[] expected)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            if (!expected.Contains(response.StatusCode))
            {
                throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {text}");
            }

            return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
        }
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static string Commit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, UseShellExecute = false });
            var text = git!.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return text;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "?";
        }
    }
}
