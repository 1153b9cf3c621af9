using System.Diagnostics;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// A folder of static files (no commands) deployed with <c>deck deploy --prod</c> until the production host serves it:
/// a first deploy where every file is new, then a redeploy of the same folder with index.html changed.
/// </summary>
internal static class StaticBench
{
    public static async Task<(CaseResult First, CaseResult Redeploy)> RunAsync(ApiServer api, Deck deck, string org, string work, int files, int rounds)
    {
        var parent = Directory.CreateDirectory(Path.Combine(work, "static")).FullName;
        await deck.InitAsync(parent, org, "site");
        var host = $"site-{org}.localhost";
        var first = new CaseResult($"static {files:N0} files, first deploy");
        var redeploy = new CaseResult($"static {files:N0} files, one file changed");

        // Warm-up (not counted): the API's and deck's first requests pay for JIT and the silo's first activations.
        var warm = Path.Combine(parent, "warm-up");
        StaticSite.Write(warm, files, seed: 0);
        StaticSite.Touch(warm, "warm-up");
        await DeployAsync(api, deck, parent, warm, host, "warm-up");

        for (var round = 1; round <= rounds; round++)
        {
            var site = Path.Combine(parent, $"round-{round}");
            StaticSite.Write(site, files, seed: round);
            var marker = $"first-{round}-{Guid.NewGuid():N}";
            var index = StaticSite.Touch(site, marker);
            var copies = Path.Combine(work, "baseline-copies", $"round-{round}");
            // Alternating which side goes first: page cache and drift favour neither.
            double platform, baseline;
            TimedRun run;
            if (round % 2 == 1)
            {
                baseline = await StaticSite.BaselineAsync(site, copies, onlyCopy: null);
                (platform, run) = await DeployAsync(api, deck, parent, site, host, marker);
            }
            else
            {
                (platform, run) = await DeployAsync(api, deck, parent, site, host, marker);
                baseline = await StaticSite.BaselineAsync(site, copies, onlyCopy: null);
            }

            first.Add(platform, baseline, run);

            marker = $"changed-{round}-{Guid.NewGuid():N}";
            StaticSite.Touch(site, marker);
            if (round % 2 == 0)
            {
                baseline = await StaticSite.BaselineAsync(site, copies + "-changed", onlyCopy: new HashSet<string> { index });
                (platform, run) = await DeployAsync(api, deck, parent, site, host, marker);
            }
            else
            {
                (platform, run) = await DeployAsync(api, deck, parent, site, host, marker);
                baseline = await StaticSite.BaselineAsync(site, copies + "-changed", onlyCopy: new HashSet<string> { index });
            }

            redeploy.Add(platform, baseline, run);
            Directory.Delete(copies, recursive: true);
            Directory.Delete(copies + "-changed", recursive: true);
        }

        return (first, redeploy);
    }

    /// <summary>From starting deck to the production host answering the page with <paramref name="marker"/>.</summary>
    private static async Task<(double Ms, TimedRun Deck)> DeployAsync(ApiServer api, Deck deck, string linked, string site, string host, string marker)
    {
        var clock = Stopwatch.StartNew();
        var run = await deck.RunAsync(linked, "deploy", Path.GetRelativePath(linked, site), "--prod", "--api", deck.Api);
        run.Succeeded();
        var deckDone = clock.Elapsed.TotalMilliseconds;
        while (!((await api.ServedAsync(host))?.Contains(marker, StringComparison.Ordinal) ?? false))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"{host} did not serve {marker} within 60 s after:\n{run.Describe()}");
        }

        var total = clock.Elapsed.TotalMilliseconds;
        return (total, run with { Lines = [.. run.Lines, new TimedLine(total, $"(edge serves it; deck exited at {deckDone:0} ms)")] });
    }
}
