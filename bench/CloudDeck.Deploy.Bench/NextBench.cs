using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>What the Next.js server case measured besides deploy times.</summary>
internal sealed record NextFigures(long StoredBytes, long WholeRootBytes, int StoredFiles, double EdgeRps, double DirectRps, long Errors, string Tool);

/// <summary>
/// A Next.js 14 server app (app router, a page rendered per request) deployed with <c>deck deploy --prod</c> until its
/// production host answers the new version, against <c>npm install</c> + <c>next build</c> run directly in a copy (the
/// dependency cache warm on both sides after a first deploy); the bytes its deployment stores against the whole built
/// root that server deployments stored before (node_modules and .next, regular files); and requests per second of its
/// dynamic page through the edge beside the same server reached directly, alternating, in the same run.
/// </summary>
internal static partial class NextBench
{
    public static async Task<(CaseResult Deploys, NextFigures Figures)> RunAsync(ApiServer api, Deck deck, string org, string email, string work, int rounds,
        TimeSpan loadDuration)
    {
        var app = Directory.CreateDirectory(Path.Combine(work, "next", "app")).FullName;
        var npmCache = Path.Combine(work, "npm-next");
        await NextApp.WriteAsync(app, NextApp.Next14, "v0", staticExport: false);
        (await Npm(app, npmCache, "install", "--no-audit", "--no-fund")).Succeeded();
        Directory.Delete(Path.Combine(app, "node_modules"), recursive: true);
        await deck.InitAsync(app, org, "next");
        var host = $"next-{org}.localhost";
        var result = new CaseResult("next.js 14 server app, warm dependency cache");

        // A first deploy fills the platform's dependency cache, a first baseline npm's: every timed round is warm.
        var (_, first, _) = await DeployAsync(api, deck, app, host, "v0", "v1");
        var wholeRoot = await BaselineAsync(app, Path.Combine(work, "next", "baseline-warm-up"), npmCache, measure: true);
        var label = "v1";
        var last = first;
        for (var round = 1; round <= rounds; round++)
        {
            var next = $"v{round + 1}";
            double baseline = 0;
            if (round % 2 == 1) baseline = (await BaselineAsync(app, Path.Combine(work, "next", $"baseline-{round}"), npmCache, measure: false)).Ms;
            (var platform, last, _) = await DeployAsync(api, deck, app, host, label, next);
            if (round % 2 == 0) baseline = (await BaselineAsync(app, Path.Combine(work, "next", $"baseline-{round}"), npmCache, measure: false)).Ms;
            result.Add(platform, baseline, last);
            label = next;
        }

        var stored = Stored().Matches(string.Join('\n', last.Lines.Select(l => l.Text))).Last();
        var deploymentId = DeploymentId().Match(string.Join('\n', last.Lines.Select(l => l.Text))).Groups[1].Value;
        var port = await ServerPortAsync(api, email, deploymentId);
        var (edge, direct, errors, tool) = await RequestsPerSecondAsync(api, host, port, loadDuration, work);
        return (result, new NextFigures(long.Parse(stored.Groups[2].Value, CultureInfo.InvariantCulture), wholeRoot.Bytes,
            int.Parse(stored.Groups[1].Value, CultureInfo.InvariantCulture), edge, direct, errors, tool));
    }

    /// <summary>From starting deck (the app relabelled) to the production host answering the new label on its dynamic page.</summary>
    private static async Task<(double Ms, TimedRun Deck, string Served)> DeployAsync(ApiServer api, Deck deck, string app, string host, string from, string to)
    {
        await NextApp.RelabelAsync(app, from, to);
        var clock = Stopwatch.StartNew();
        var run = (await deck.RunAsync(app, "deploy", "--prod", "--api", deck.Api)).Succeeded();
        var deckDone = clock.Elapsed.TotalMilliseconds;
        string? body;
        while ((body = await api.ServedAsync(host, "/label")) is null || !body.StartsWith($"hello from {to} ", StringComparison.Ordinal))
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException($"{host} did not serve {to} within 5 min after:\n{run.Describe()}");
        }

        var total = clock.Elapsed.TotalMilliseconds;
        return (total, run with { Lines = [.. run.Lines, new TimedLine(total, $"(edge serves {to}; deck exited at {deckDone:0} ms)")] }, body);
    }

    /// <summary>
    /// The same install and build run directly in a fresh copy (the copy is not timed), with Next's standalone output as
    /// the platform asks for it; with <paramref name="measure"/>, the bytes of the whole built root as it was deployed before.
    /// </summary>
    private static async Task<(double Ms, long Bytes)> BaselineAsync(string app, string copy, string npmCache, bool measure)
    {
        NpmRuns.CopySource(app, copy);
        var install = (await Npm(copy, npmCache, "install", "--no-audit", "--no-fund")).Succeeded();
        var build = (await Npm(copy, npmCache, "run", "build")).Succeeded();
        var bytes = measure ? NextApp.WholeRootBytes(copy) - DirectoryBytes(Path.Combine(copy, ".next", "standalone")) : 0;
        Directory.Delete(copy, recursive: true);
        return (install.ElapsedMs + build.ElapsedMs, bytes);
    }

    /// <summary>The standalone folder is this build's extra (a copy of the rest); the root deployed before had none.</summary>
    private static long DirectoryBytes(string directory) => Directory.Exists(directory) ? NextApp.WholeRootBytes(directory) : 0;

    private static async Task<int> ServerPortAsync(ApiServer api, string email, string deploymentId)
    {
        using var login = await api.Http.PostAsJsonAsync("api/v1/auth/login", new { email, password = ApiServer.Password });
        var token = JsonNode.Parse(await login.Content.ReadAsStringAsync())!["access_token"]!.GetValue<string>();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/deployments/{deploymentId}/server");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await api.Http.SendAsync(request);
        var status = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return status["port"]?.GetValue<int>() ?? throw new InvalidOperationException($"deployment {deploymentId} has no running server: {status}");
    }

    /// <summary>wrk on the dynamic page, through the edge and straight to the server's port, alternating twice; medians.</summary>
    private static async Task<(double Edge, double Direct, long Errors, string Tool)> RequestsPerSecondAsync(ApiServer api, string host, int port,
        TimeSpan duration, string work)
    {
        var wrk = new[] { "/usr/bin/wrk", "/usr/local/bin/wrk" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("wrk is not installed (apt-get install wrk): the requests/s figures need it.");
        List<double> edge = [], direct = [];
        long errors = 0;
        for (var i = 0; i < 2; i++)
        {
            var (directRate, directErrors) = await WrkAsync(wrk, new Uri($"http://127.0.0.1:{port}/"), null, duration);
            var (edgeRate, edgeErrors) = await WrkAsync(wrk, api.BaseAddress, $"{host}:{api.BaseAddress.Port}", duration);
            direct.Add(directRate);
            edge.Add(edgeRate);
            errors += directErrors + edgeErrors;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  next.js dynamic page, pass {i + 1}: direct {directRate,8:0} req/s   through the edge {edgeRate,8:0} req/s"));
        }

        return (CaseResult.Median(edge), CaseResult.Median(direct), errors, "wrk -t2 -c16");
    }

    private static async Task<(double Rate, long Errors)> WrkAsync(string wrk, Uri url, string? host, TimeSpan duration)
    {
        List<string> arguments = ["-t2", "-c16", $"-d{(int)duration.TotalSeconds}s"];
        if (host is not null) arguments.AddRange(["-H", $"Host: {host}"]);
        arguments.Add(url.ToString());
        var run = (await TimedProcess.RunAsync(wrk, arguments, Path.GetTempPath(), timeout: duration + TimeSpan.FromSeconds(30))).Succeeded();
        var output = string.Join('\n', run.Lines.Select(l => l.Text));
        var rate = RequestsPerSecond().Match(output);
        if (!rate.Success) throw new InvalidOperationException($"wrk printed no Requests/sec:\n{output}");
        var errors = NonSuccess().Match(output) is { Success: true } bad ? long.Parse(bad.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        return (double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture), errors);
    }

    /// <summary>npm as the platform runs a Next.js server build: CI, production, Next's standalone output.</summary>
    private static Task<TimedRun> Npm(string directory, string cache, params string[] args) =>
        NpmRuns.Npm(directory, cache, TimeSpan.FromMinutes(10), new Dictionary<string, string?>
        {
            ["NEXT_PRIVATE_STANDALONE"] = args.Contains("build") ? "true" : null,
            ["NEXT_TELEMETRY_DISABLED"] = "1",
        }, args);

    [GeneratedRegex(@"Stored (\d+) file\(s\), (\d+) bytes")]
    private static partial Regex Stored();

    [GeneratedRegex(@"deployment ([0-9a-f]{16}) \(")]
    private static partial Regex DeploymentId();

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();
}
