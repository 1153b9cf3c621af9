using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using CloudDeck.Testing;

namespace CloudDeck.Edge.Bench;

/// <summary>
/// <c>./build.sh bench edge --misses [--connections 64] [--duration 10] [--rounds 3]</c>
/// The edge under a flood of hosts it does not know, beside the known host, in the same run: wrk GETs to the production
/// host of a small site, to random <c>{16 hex}.localhost</c> deployment hosts and to random custom domains (each request
/// a host never asked before), rounds alternating, best of each. Unknown hosts answer from the edge's negative entries
/// and lookups without activations; the activation count (<c>/healthz</c>) before and after shows none were made per host.
/// </summary>
internal static partial class MissesBench
{
    public static async Task<int> RunAsync(int connections, TimeSpan duration, int rounds)
    {
        var wrk = Load.Wrk;
        if (wrk is null)
        {
            Console.Error.WriteLine("wrk is missing: apt-get install -y wrk (random hosts per request need its Lua scripts).");
            return 1;
        }

        var work = Directory.CreateTempSubdirectory("clouddeck-edge-misses-").FullName;
        try
        {
            var site = Path.Combine(work, "site");
            var manifest = SiteFiles.Write(site, 20);
            var manifestFile = Path.Combine(work, "manifest.json");
            await File.WriteAllTextAsync(manifestFile, JsonSerializer.Serialize(manifest));
            Console.WriteLine($"CloudDeck.Edge.Bench --misses on {Environment.ProcessorCount} cores, .NET {Environment.Version}: {connections} connections, " +
                              $"{duration.TotalSeconds:0} s per round, {rounds} rounds, load by wrk, load average {LoadAverage()}");
            var port = ChildProcess.FreeTcpPort();
            var dll = typeof(SiteFiles).Assembly.Location;
            await using var edge = ChildProcess.Start(RepoPaths.DotnetHost, [dll, "--serve", Path.Combine(work, "data"), site, manifestFile, port.ToString(CultureInfo.InvariantCulture)],
                workingDirectory: Path.GetDirectoryName(dll));
            var ready = await edge.WaitForOutputAsync(line => line.StartsWith("READY", StringComparison.Ordinal), TimeSpan.FromMinutes(2));
            var host = ready.Split(' ')[^1];
            var server = new Uri($"http://127.0.0.1:{port}/");
            var scripts = new Dictionary<string, string>
            {
                [$"known host ({host})"] = await ScriptAsync(work, "known", $"\"{host}\""),
                ["random {16 hex}.localhost"] = await ScriptAsync(work, "deployment", "string.format(\"%04x%04x%04x%04x.localhost\", r(), r(), r(), r())"),
                ["random custom domains"] = await ScriptAsync(work, "custom", "string.format(\"www.%04x%04x%04x.example\", r(), r(), r())"),
            };

            using var http = new HttpClient { BaseAddress = server };
            var activationsBefore = await ActivationsAsync(http);
            // Warm-up: JIT, the known host's caches.
            foreach (var script in scripts.Values) await RunWrkAsync(wrk, server, script, connections, TimeSpan.FromSeconds(3));
            var best = scripts.Keys.ToDictionary(k => k, _ => (Rate: 0.0, Requests: 0L, Ok: 0L));
            for (var round = 1; round <= rounds; round++)
            {
                // Each round in another order, so drift favours none.
                foreach (var name in round % 2 == 1 ? scripts.Keys : scripts.Keys.Reverse())
                {
                    var result = await RunWrkAsync(wrk, server, scripts[name], connections, duration);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round}: {name,-34} {result.Rate,10:N0}/s  ({result.Requests:N0} requests, {result.Requests - result.NonSuccess:N0} answered 2xx/3xx)"));
                    if (result.Rate > best[name].Rate) best[name] = (result.Rate, result.Requests, result.Requests - result.NonSuccess);
                }
            }

            var activationsAfter = await ActivationsAsync(http);
            var flood = best.Where(b => !b.Key.StartsWith("known", StringComparison.Ordinal)).Sum(b => b.Value.Requests);
            edge.Kill(Signal.SIGTERM);
            var known = best.First(b => b.Key.StartsWith("known", StringComparison.Ordinal)).Value.Rate;
            Console.WriteLine();
            Console.WriteLine($"load average after: {LoadAverage()}");
            Console.WriteLine("| hosts | requests/s (best round) | vs the known host |");
            Console.WriteLine("| --- | ---: | ---: |");
            foreach (var (name, result) in best)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {result.Rate:N0} | {result.Rate / known:0.00}× |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Activations (/healthz): {activationsBefore:N0} before the warm-up, {activationsAfter:N0} after every round ({flood:N0} requests to random unknown hosts in the best rounds alone)."));
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

    /// <summary>A wrk script whose every request asks <c>/</c> of the host <paramref name="hostExpression"/> (Lua; <c>r()</c> is 16 random bits).</summary>
    private static async Task<string> ScriptAsync(string work, string name, string hostExpression)
    {
        var path = Path.Combine(work, name + ".lua");
        await File.WriteAllTextAsync(path, $$"""
            local counter = 0
            setup = function(thread) counter = counter + 1; thread:set("id", counter) end
            init = function(args) math.randomseed(os.time() * 1000 + (id or 0)) end
            local function r() return math.random(0, 65535) end
            request = function()
              return wrk.format("GET", "/", { ["Host"] = {{hostExpression}} })
            end
            """);
        return path;
    }

    private static async Task<(double Rate, long Requests, long NonSuccess)> RunWrkAsync(string wrk, Uri server, string script, int connections, TimeSpan duration)
    {
        await using var process = ChildProcess.Start(wrk, ["-t2", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "-s", script, server.ToString()]);
        if (!await process.WaitForExitAsync(duration + TimeSpan.FromSeconds(30))) throw new TimeoutException($"wrk did not finish:\n{process.Output}");
        var output = process.Output;
        var rate = RequestsPerSecond().Match(output);
        var requests = Requests().Match(output);
        if (!rate.Success || !requests.Success) throw new InvalidOperationException($"wrk printed no figures:\n{output}");
        var nonSuccess = NonSuccess().Match(output) is { Success: true } bad ? long.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return (double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(requests.Groups[1].Value, CultureInfo.InvariantCulture), nonSuccess);
    }

    private static async Task<long> ActivationsAsync(HttpClient http)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync("/healthz"));
        return document.RootElement.GetProperty("activations").GetInt64();
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex Requests();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();
}
