using System.Globalization;
using System.Text.Json.Nodes;
using CloudDeck.Testing;

namespace CloudDeck.Logs.Bench;

/// <summary>Latency percentiles of one round, in milliseconds.</summary>
internal sealed record LatencySummary(int Count, double P50, double P90, double P99, double Max)
{
    public static LatencySummary Of(IReadOnlyList<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double At(double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
        return new LatencySummary(sorted.Length, At(0.50), At(0.90), At(0.99), sorted[^1]);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"p50 {P50:F2} ms, p90 {P90:F2} ms, p99 {P99:F2} ms, max {Max:F2} ms ({Count:N0} lines)");
}

/// <summary>Runs the SignalR JS client in latency mode against a hub and summarizes what it measured.</summary>
internal static class NodeFollower
{
    public static async Task<LatencySummary> MeasureAsync(Uri baseAddress, string token, string buildId, LogBenchOptions options, string directory)
    {
        var output = Path.Combine(directory, $"latency-{Guid.NewGuid():N}.json");
        var timeout = options.Warmup + options.Duration + TimeSpan.FromMinutes(2);
        var run = await NodeHarness.RunAsync("follow-build.mjs",
            [baseAddress.ToString(), token, buildId, "--latency", "--out", output, "--timeout", ((int)timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture)],
            timeout + TimeSpan.FromSeconds(30));
        if (run.ExitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"node follow-build.mjs exited with {run.ExitCode}:\n{run.Output}");
        }

        var result = JsonNode.Parse(await File.ReadAllTextAsync(output))!;
        var lines = result["lines"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray();
        if (lines.Length != options.Lines || lines.Where((line, i) => line != i + 1).Any())
        {
            throw new InvalidOperationException($"The client did not receive lines 1..{options.Lines} in order ({lines.Length} lines).");
        }

        var latencies = result["latencies_ms"]!.AsArray().Select(n => n!.GetValue<double>()).ToArray();
        return LatencySummary.Of(latencies[options.WarmupLines..]);
    }
}
