using Actors.Runtime;
using Actors.Runtime.Testing;

namespace Actors.Bench;

/// <summary>Local grain calls per second, beside the same calls through a minimal mailbox actor.</summary>
internal static class CallBenchmarks
{
    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var grainCount = options.Grains;
        var callers = options.Callers;

        await using var silo = await InProcessTestCluster.StartAsync(s => s.AddGrains(typeof(CounterGrain).Assembly).AddMemoryStorage());
        var grains = Enumerable.Range(0, grainCount).Select(i => silo.GrainFactory.GetGrain<ICounterGrain>($"g{i}")).ToArray();
        var actors = Enumerable.Range(0, grainCount).Select(_ => new MailboxActor()).ToArray();

        // Warm up both (JIT, activations, tiered compilation), then measure in alternation.
        await Measure.ThroughputAsync(callers, options.Warmup, (c, n) => grains[(int)((c * 7919 + n) % grainCount)].Increment());
        await Measure.ThroughputAsync(callers, options.Warmup, (c, n) => actors[(int)((c * 7919 + n) % grainCount)].Increment());

        var grainRuns = new List<double>();
        var mailboxRuns = new List<double>();
        for (var round = 0; round < options.Rounds; round++)
        {
            mailboxRuns.Add(await Measure.ThroughputAsync(callers, options.Duration, (c, n) => actors[(int)((c * 7919 + n) % grainCount)].Increment()));
            grainRuns.Add(await Measure.ThroughputAsync(callers, options.Duration, (c, n) => grains[(int)((c * 7919 + n) % grainCount)].Increment()));
        }

        var grainRate = grainRuns.Max();
        var mailboxRate = mailboxRuns.Max();
        report.Add($"grain calls/s ({grainCount} grains, {callers} callers)", grainRate, "mailbox actor", mailboxRate);
    }
}
