using CloudDeck.Testing;

namespace Actors.Bench;

/// <summary>Local grain calls per second on one in-process silo, beside the same calls through a minimal mailbox actor.</summary>
internal static class CallBenchmarks
{
    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var grainCount = options.Grains;
        var callers = options.Callers;

        // Calls from outside any grain, through the silo's own grain factory: no gateway, no network.
        await using var silo = await TestSilo.StartAsync(_ => { });
        var grains = Enumerable.Range(0, grainCount).Select(i => silo.GrainFactory.GetGrain<ICounterGrain>($"g{i}")).ToArray();
        var actors = Enumerable.Range(0, grainCount).Select(_ => new MailboxActor()).ToArray();

        Task Grain(int caller, long n) => grains[(int)((caller * 7919 + n) % grainCount)].Increment();
        Task Mailbox(int caller, long n) => actors[(int)((caller * 7919 + n) % grainCount)].Increment();

        // Warm up both (JIT, activations, tiered compilation), then measure in alternation.
        await Measure.ThroughputAsync(callers, options.Warmup, Grain);
        await Measure.ThroughputAsync(callers, options.Warmup, Mailbox);
        var (grainRate, mailboxRate) = await Measure.AlternateAsync(options,
            () => Measure.ThroughputAsync(callers, options.Duration, Grain),
            () => Measure.ThroughputAsync(callers, options.Duration, Mailbox));
        report.Add($"local grain calls/s ({grainCount} grains, {callers} callers, 1 silo)", grainRate, "mailbox actor", mailboxRate);
    }
}
