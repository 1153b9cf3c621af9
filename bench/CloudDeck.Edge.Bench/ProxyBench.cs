using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// <c>./build.sh bench proxy [--connections 32] [--duration 10] [--rounds 3] [--cold-starts 5]</c>: the edge's reverse
/// proxy in the real API process. A trivial Node server (node:http, "ok") is deployed to production through the REST
/// contract (a git repository, build, detection, health check); then requests/s through the edge (Host: the production
/// URL) beside requests/s sent to the same Node process directly, alternating rounds, best of each (target ≥ 0.5×).
/// Between the two, a bare YARP proxy (<see cref="BareProxy"/>, a child process) to the same Node process: what YARP and
/// the extra hop cost on these cores, so that the rest of the gap is the edge's own.
/// Then the cold start of an idle preview: its server is stopped by the idle timeout, and the first request through the
/// edge is timed (start, health check, answer), median of <c>--cold-starts</c>.
/// </summary>
internal static class ProxyBench
{
    private const string Password = "correct horse battery staple";

    private const string ServerJs = """
        const http = require('http');
        http.createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end('ok'); })
          .listen(Number(process.env.PORT), '127.0.0.1');
        """;

    public static async Task<int> RunAsync(int connections, TimeSpan duration, int rounds, int coldStarts)
    {
        var dll = RepoPaths.ProjectOutput("api", "CloudDeck.Api");
        var work = Directory.CreateTempSubdirectory("clouddeck-proxy-bench-").FullName;
        var port = ChildProcess.FreeTcpPort();
        await using var api = ChildProcess.Start(RepoPaths.DotnetHost, [dll], new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["CloudDeck__DataDirectory"] = Path.Combine(work, "data"),
            // The benchmark account cannot verify its email (no mail leaves the process): it may upload and deploy what its runs need.
            ["CloudDeck__Accounts__UnverifiedStorageAllowanceMb"] = "1000000",
            ["CloudDeck__Accounts__UnverifiedDeployments"] = "1000000",
            ["CloudDeck__Plans__Hobby__StorageMb"] = "-1",
            ["CloudDeck__Projects__AllowLocalSources"] = "true",
            // Idle previews stop after a second of no requests, so that a cold start can be measured again and again.
            ["CloudDeck__Servers__PreviewIdleTimeout"] = "00:00:01",
            ["CloudDeck__Servers__MonitorInterval"] = "00:00:00.100",
            ["Logging__LogLevel__Default"] = "Warning",
        }, Path.GetDirectoryName(dll));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(2) };
        try
        {
            await ApiCalls.WaitHealthyAsync(http, api);
            await ApiCalls.CallAsync(http, HttpMethod.Post, "api/v1/auth/signup", new { email = "bench@example.com", password = Password });
            var login = await ApiCalls.CallAsync(http, HttpMethod.Post, "api/v1/auth/login", new { email = "bench@example.com", password = Password });
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login["access_token"]!.GetValue<string>());
            var org = await ApiCalls.PersonalOrganizationAsync(http);
            var repo = await RepositoryAsync(work);
            await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/projects", new { name = "srv", local_path = repo });
            var production = await DeployAsync(http, org, "production");
            var direct = (await ApiCalls.CallAsync(http, HttpMethod.Get, $"api/v1/deployments/{production}/server", null))["port"]!.GetValue<int>();
            var host = $"srv-{org}.localhost";
            Console.WriteLine($"CloudDeck.Edge.Bench --proxy on {Environment.ProcessorCount} cores, .NET {Environment.Version}, node {await NodeVersionAsync()}: " +
                              $"{connections} connections, {duration.TotalSeconds:0} s per round, {rounds} rounds, load by {(Load.Wrk is null ? "HttpClient" : "wrk")}");

            var pathsFile = Path.Combine(work, "paths.txt");
            await File.WriteAllLinesAsync(pathsFile, ["/"]);
            var edgeUri = new Uri($"http://127.0.0.1:{port}/");
            var nodeUri = new Uri($"http://127.0.0.1:{direct}/");
            var barePort = ChildProcess.FreeTcpPort();
            var benchDll = typeof(ProxyBench).Assembly.Location;
            await using var bare = ChildProcess.Start(RepoPaths.DotnetHost,
                [benchDll, "--bare-proxy", barePort.ToString(CultureInfo.InvariantCulture), $"http://127.0.0.1:{direct}"], workingDirectory: Path.GetDirectoryName(benchDll));
            await bare.WaitForOutputAsync(line => line.StartsWith("READY", StringComparison.Ordinal), TimeSpan.FromMinutes(1));
            var bareUri = new Uri($"http://127.0.0.1:{barePort}/");
            // Warm-up: the edge caches alias, manifest and endpoint, both proxies open their pooled connections, the JIT settles.
            await Load.RunAsync(edgeUri, host, pathsFile, connections, TimeSpan.FromSeconds(3), work);
            await Load.RunAsync(bareUri, host, pathsFile, connections, TimeSpan.FromSeconds(3), work);
            await Load.RunAsync(nodeUri, null, pathsFile, connections, TimeSpan.FromSeconds(3), work);
            var edgeRuns = new List<LoadResult>();
            var bareRuns = new List<LoadResult>();
            var nodeRuns = new List<LoadResult>();
            for (var round = 1; round <= rounds; round++)
            {
                edgeRuns.Add(await Load.RunAsync(edgeUri, host, pathsFile, connections, duration, work));
                bareRuns.Add(await Load.RunAsync(bareUri, host, pathsFile, connections, duration, work));
                nodeRuns.Add(await Load.RunAsync(nodeUri, null, pathsFile, connections, duration, work));
                Console.WriteLine($"  round {round}: through the edge {edgeRuns[^1].RequestsPerSecond,10:N0}/s ({edgeRuns[^1].Errors} errors)   " +
                                  $"bare YARP {bareRuns[^1].RequestsPerSecond,10:N0}/s ({bareRuns[^1].Errors} errors)   node directly {nodeRuns[^1].RequestsPerSecond,10:N0}/s ({nodeRuns[^1].Errors} errors)");
            }

            bare.Kill(Signal.SIGTERM);

            var preview = await DeployAsync(http, org, "preview");
            var samples = new List<double>();
            var grainSamples = new List<double>();
            for (var i = 0; i < coldStarts; i++)
            {
                await WaitStoppedAsync(http, preview);
                var stopwatch = Stopwatch.StartNew();
                var answer = await ServedAsync(http, $"{preview}.localhost");
                samples.Add(stopwatch.Elapsed.TotalMilliseconds);
                if (answer != "ok") throw new InvalidOperationException($"the preview answered '{answer}' after its cold start");
                var status = await ApiCalls.CallAsync(http, HttpMethod.Get, $"api/v1/deployments/{preview}/server", null);
                if (status["last_cold_start"]?.GetValue<string>() is { } grainSide) grainSamples.Add(TimeSpan.Parse(grainSide, CultureInfo.InvariantCulture).TotalMilliseconds);
                Console.WriteLine($"  cold start {i + 1}: {samples[^1]:0} ms at the client");
            }

            var bestEdge = edgeRuns.Max(r => r.RequestsPerSecond);
            var bestBare = bareRuns.Max(r => r.RequestsPerSecond);
            var bestNode = nodeRuns.Max(r => r.RequestsPerSecond);
            Console.WriteLine();
            Console.WriteLine("| measure | through the edge | bare YARP proxy | node directly | edge / direct | bare / direct | edge / bare |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            Console.WriteLine($"| GET / of a trivial node:http server, {connections} connections | {bestEdge:N0}/s | {bestBare:N0}/s | {bestNode:N0}/s | " +
                              $"{bestEdge / bestNode:0.00} | {bestBare / bestNode:0.00} | {bestEdge / bestBare:0.00} |");
            Console.WriteLine($"| cold start of an idle preview, first request through the edge (median of {coldStarts}) | {Median(samples):0} ms | | | | | |");
            if (grainSamples.Count > 0) Console.WriteLine($"| … of which the server grain's start + health check (median) | {Median(grainSamples):0} ms | | | | | |");
            Console.WriteLine($"Target ≥ 0.5× node directly: {(bestEdge >= 0.5 * bestNode ? "met" : "NOT met")}.");
            return edgeRuns.Concat(bareRuns).Concat(nodeRuns).Any(r => r.Errors > 0) ? 1 : 0;
        }
        finally
        {
            api.Kill(Signal.SIGTERM);
            await api.WaitForExitAsync(TimeSpan.FromSeconds(30));
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static async Task<string> RepositoryAsync(string work)
    {
        var repo = Directory.CreateDirectory(Path.Combine(work, "srv")).FullName;
        await File.WriteAllTextAsync(Path.Combine(repo, "package.json"), """{ "name": "srv", "version": "1.0.0", "private": true, "scripts": { "start": "node server.js" } }""");
        await File.WriteAllTextAsync(Path.Combine(repo, "package-lock.json"),
            """{ "name": "srv", "version": "1.0.0", "lockfileVersion": 3, "requires": true, "packages": { "": { "name": "srv", "version": "1.0.0" } } }""");
        await File.WriteAllTextAsync(Path.Combine(repo, "server.js"), ServerJs);
        await RunAsync(repo, "git", "init", "-q", "-b", "main");
        await RunAsync(repo, "git", "add", "-A");
        await RunAsync(repo, "git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "srv");
        return repo;
    }

    private static async Task<string> NodeVersionAsync()
    {
        await using var node = ChildProcess.Start("node", ["--version"]);
        await node.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return node.Output.Trim();
    }

    private static async Task RunAsync(string directory, string command, params string[] args)
    {
        await using var process = ChildProcess.Start(command, args, workingDirectory: directory);
        if (!await process.WaitForExitAsync(TimeSpan.FromMinutes(1)) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed:\n{process.Output}");
        }
    }

    private static async Task<string> DeployAsync(HttpClient http, string org, string target)
    {
        var deployment = await ApiCalls.CallAsync(http, HttpMethod.Post, $"api/v1/orgs/{org}/projects/srv/deployments", new { target, git_ref = "main" });
        var id = deployment["id"]!.GetValue<string>();
        for (var waited = Stopwatch.StartNew(); ; await Task.Delay(100))
        {
            var view = await ApiCalls.CallAsync(http, HttpMethod.Get, $"api/v1/deployments/{id}", null);
            var status = view["status"]!.GetValue<string>();
            if (status == "ready") return id;
            if (status is "failed" or "canceled" or "timed_out" || waited.Elapsed > TimeSpan.FromMinutes(3)) throw new InvalidOperationException($"deployment {id}: {view}");
        }
    }

    private static async Task WaitStoppedAsync(HttpClient http, string id)
    {
        for (var waited = Stopwatch.StartNew(); ; await Task.Delay(50))
        {
            var status = await ApiCalls.CallAsync(http, HttpMethod.Get, $"api/v1/deployments/{id}/server", null);
            if (status["state"]!.GetValue<string>() == "stopped") return;
            if (waited.Elapsed > TimeSpan.FromMinutes(1)) throw new TimeoutException($"the idle preview {id} was not stopped: {status}");
        }
    }

    private static async Task<string?> ServedAsync(HttpClient http, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = host;
        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : $"{(int)response.StatusCode}";
    }
}
