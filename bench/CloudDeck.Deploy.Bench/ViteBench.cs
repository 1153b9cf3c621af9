using System.Diagnostics;
using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// A Vite app (vanilla template, vite pinned, its lockfile from the npm registry) deployed with <c>deck deploy --prod</c>
/// until the production host serves the new build, against <c>npm install --no-audit --no-fund</c> + <c>npm run build</c>
/// run directly in a copy, with a cold dependency cache (the platform's build cache and the baseline's npm cache both
/// empty) and a warm one (both kept from the previous run).
/// </summary>
internal static class ViteBench
{
    public static async Task<(CaseResult Cold, CaseResult Warm)> RunAsync(ApiServer api, Deck deck, string org, string work, int rounds)
    {
        var app = await CreateAppAsync(Path.Combine(work, "vite"));
        await deck.InitAsync(app, org, "vite");
        var host = $"vite-{org}.localhost";
        var cold = new CaseResult("vite app, cold dependency cache");
        var warm = new CaseResult("vite app, warm dependency cache");
        var warmNpmCache = Path.Combine(work, "npm-warm");
        var (_, _, served) = await DeployAsync(api, deck, app, host, "warm-up", previous: null);
        await BaselineAsync(app, Path.Combine(work, "baseline-warm-up"), warmNpmCache);

        for (var round = 1; round <= rounds; round++)
        {
            var coldNpmCache = Path.Combine(work, $"npm-cold-{round}");
            double baseline = 0;
            if (round % 2 == 1) baseline = await BaselineAsync(app, Path.Combine(work, $"baseline-cold-{round}"), coldNpmCache);
            // Cold: the build cache (node_modules by lockfile, npm's download cache) goes; nothing builds meanwhile.
            if (Directory.Exists(api.BuildCache)) Directory.Delete(api.BuildCache, recursive: true);
            (var platform, var run, served) = await DeployAsync(api, deck, app, host, $"cold {round}", served);
            if (round % 2 == 0) baseline = await BaselineAsync(app, Path.Combine(work, $"baseline-cold-{round}"), coldNpmCache);
            cold.Add(platform, baseline, run);
        }

        for (var round = 1; round <= rounds; round++)
        {
            double baseline = 0;
            if (round % 2 == 1) baseline = await BaselineAsync(app, Path.Combine(work, $"baseline-warm-{round}"), warmNpmCache);
            (var platform, var run, served) = await DeployAsync(api, deck, app, host, $"warm {round}", served);
            if (round % 2 == 0) baseline = await BaselineAsync(app, Path.Combine(work, $"baseline-warm-{round}"), warmNpmCache);
            warm.Add(platform, baseline, run);
        }

        return (cold, warm);
    }

    /// <summary>The app as `npm create vite` writes it (vanilla), with a full `npm install` for its lockfile, then without node_modules.</summary>
    private static async Task<string> CreateAppAsync(string parent)
    {
        var app = Directory.CreateDirectory(Path.Combine(parent, "app")).FullName;
        await ViteApp.WriteAsync(app, "setup");
        (await Npm(app, Path.Combine(parent, "npm-setup"), "install", "--no-audit", "--no-fund")).Succeeded();
        Directory.Delete(Path.Combine(app, "node_modules"), recursive: true);
        return app;
    }

    /// <summary>
    /// From starting deck (with a new greeting in main.js, so the build's output and index.html change) to the production
    /// host answering the new index.html.
    /// </summary>
    private static async Task<(double Ms, TimedRun Deck, string Served)> DeployAsync(ApiServer api, Deck deck, string app, string host, string greeting, string? previous)
    {
        await ViteApp.WriteGreetingAsync(app, greeting);
        var clock = Stopwatch.StartNew();
        var run = (await deck.RunAsync(app, "deploy", "--prod", "--api", deck.Api)).Succeeded();
        var deckDone = clock.Elapsed.TotalMilliseconds;
        string? body;
        while ((body = await api.ServedAsync(host)) is null || body == previous)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"{host} did not serve the new build within 2 min after:\n{run.Describe()}");
        }

        var total = clock.Elapsed.TotalMilliseconds;
        return (total, run with { Lines = [.. run.Lines, new TimedLine(total, $"(edge serves it; deck exited at {deckDone:0} ms)")] }, body);
    }

    /// <summary>The same install and build run directly in a fresh copy of the app (the copy is not timed).</summary>
    private static async Task<double> BaselineAsync(string app, string copy, string npmCache)
    {
        NpmRuns.CopySource(app, copy);
        var install = (await Npm(copy, npmCache, "install", "--no-audit", "--no-fund")).Succeeded();
        var build = (await Npm(copy, npmCache, "run", "build")).Succeeded();
        Directory.Delete(copy, recursive: true);
        return install.ElapsedMs + build.ElapsedMs;
    }

    private static Task<TimedRun> Npm(string directory, string cache, params string[] args) =>
        NpmRuns.Npm(directory, cache, TimeSpan.FromMinutes(5), null, args);
}
