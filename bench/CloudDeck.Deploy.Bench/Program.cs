using System.Globalization;
using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// <c>./build.sh bench deploy [--files 1000] [--rounds 5] [--vite-rounds 3] [--next-rounds 2] [--only static|vite|next] [--profile] [--deck path/deck.dll or a native deck]</c>
/// The platform's overhead for a deploy: the real API host and the real <c>deck deploy --prod</c> as processes, timed
/// from starting deck to the production host serving the new content, minus the same work's unavoidable part done
/// directly in the same run, rounds alternating between the two. Target: overhead ≤ 500 ms. With <c>--sandbox</c>: the
/// sandbox's cost per command instead (<see cref="SandboxBench"/>); with <c>--creations</c>, deployments created per
/// second (<see cref="CreationBench"/>).
/// </summary>
internal static class DeployBench
{
    private const double TargetMs = 500;

    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--sandbox")) return await SandboxBench.RunAsync(Option(args, "--rounds", 40));
        if (args.Contains("--creations")) return await CreationBench.RunAsync(Option(args, "--deployments", 300), Option(args, "--clients", 16), Option(args, "--rounds", 3));
        var files = Option(args, "--files", 1000);
        var rounds = Option(args, "--rounds", 5);
        var viteRounds = Option(args, "--vite-rounds", 3);
        var nextRounds = Option(args, "--next-rounds", 2);
        NextFigures? next = null;
        var only = Text(args, "--only");
        var profile = args.Contains("--profile");
        var work = Directory.CreateTempSubdirectory("clouddeck-deploy-bench-").FullName;
        Console.WriteLine($"CloudDeck.Deploy.Bench on {Environment.ProcessorCount} cores, .NET {Environment.Version}, load {Load()}: " +
                          $"static {files:N0} files × {rounds} rounds, vite {ViteApp.Version} × {viteRounds} rounds per cache state; " +
                          $"deck: {Text(args, "--deck") ?? "cli/bin/Release (deck.dll)"}");
        var results = new List<CaseResult>();
        try
        {
            await using var api = await ApiServer.StartAsync(Path.Combine(work, "data"));
            const string email = "bench@example.com";
            var org = await api.SignUpAsync(email);
            var deck = new Deck(api, Path.Combine(work, "deck-config"), Text(args, "--deck"));
            await deck.LoginAsync(email, work);

            if (only is null or "static")
            {
                var (first, redeploy) = await StaticBench.RunAsync(api, deck, org, work, files, rounds);
                results.Add(first);
                results.Add(redeploy);
            }

            if (only is null or "vite")
            {
                var (cold, warm) = await ViteBench.RunAsync(api, deck, org, work, viteRounds);
                results.Add(cold);
                results.Add(warm);
            }

            if (only is null or "next")
            {
                (var deploys, next) = await NextBench.RunAsync(api, deck, org, email, work, nextRounds, TimeSpan.FromSeconds(Option(args, "--load-seconds", 10)));
                results.Add(deploys);
            }
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

        Console.WriteLine();
        Console.WriteLine($"load after: {Load()}");
        Console.WriteLine("| deploy | rounds | platform (median) | baseline (median) | overhead (median of pairs) | overhead range |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var result in results)
        {
            var (min, max) = result.OverheadRange;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {result.Name} | {result.Count} | {result.Platform:N0} ms | {result.Baseline:N0} ms | {result.Overhead:N0} ms | {min:N0} … {max:N0} ms |"));
        }

        if (next is not null)
        {
            Console.WriteLine();
            Console.WriteLine("| next.js 14 server app | figure |");
            Console.WriteLine("| --- | ---: |");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| stored by its deployment | {next.StoredBytes:N0} bytes in {next.StoredFiles:N0} files |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| whole built root (what server deployments stored before) | {next.WholeRootBytes:N0} bytes |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| ratio | {(double)next.StoredBytes / next.WholeRootBytes:P1} |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| dynamic page, direct to the server ({next.Tool}) | {next.DirectRps:N0} req/s |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| dynamic page, through the edge ({next.Tool}) | {next.EdgeRps:N0} req/s ({next.EdgeRps / next.DirectRps:P0} of direct) |"));
            Console.WriteLine($"| non-2xx answers during the load | {next.Errors} |");
        }

        var missed = results.Where(r => r.Overhead > TargetMs && !r.Name.StartsWith("next", StringComparison.Ordinal)).ToList();
        Console.WriteLine(missed.Count == 0 ? $"Target overhead ≤ {TargetMs:0} ms: met." : $"Target overhead ≤ {TargetMs:0} ms: NOT met for {string.Join(", ", missed.Select(r => r.Name))}.");
        foreach (var result in results.Where(r => profile || r.Overhead > TargetMs))
        {
            Console.WriteLine();
            Console.WriteLine($"profile of the median round of {result.Name} (deck's lines as they arrived):");
            foreach (var line in result.MedianRun.Lines) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {line.AtMs,8:0} ms  {line.Text}"));
        }

        return 0;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

    private static int Option(string[] args, string name, int fallback) =>
        Text(args, name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? Text(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }
}
