using Actors.Extensions.Streams;
using static Actors.Extensions.Tests.Streams.LogStreamTests;

namespace Actors.Extensions.Tests.Streams;

/// <summary>Log streams across three silos: implicit consumers, and followers that outlive a killed silo.</summary>
public sealed class LogStreamClusterTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_implicit_consumer_gets_every_item_of_each_stream_of_its_namespace_once_in_order()
    {
        await using var cluster = await LogTestCluster.StartAsync(3, o => o.MaxReadBatch = 64);
        var keys = Enumerable.Range(0, 4).Select(i => $"all-{Guid.NewGuid():N}-{i}").ToArray();
        await Task.WhenAll(keys.Select(async key =>
        {
            var stream = cluster.Streams.GetStream<long>(TallyGrain.Namespace, key);
            await AppendRangeAsync(stream, 1, 1_000, 37);
            await stream.CompleteAsync();
        }));

        foreach (var key in keys)
        {
            var tally = cluster.Client.GetGrain<ITallyGrain>(key);
            await Eventually.HoldsAsync(async () => (await tally.Get()).Completed, Patience, async () => $"{await tally.Get()}");
            var view = await tally.Get();
            Assert.Equal((500_500L, 1_000L, 1_000L, 0L, 0L), (view.Sum, view.Count, view.LastApplied, view.OutOfOrder, view.Redelivered));
        }
    }

    [Fact]
    public async Task An_implicit_consumer_still_gets_every_item_on_silos_without_a_reminder_service()
    {
        await using var cluster = await LogTestCluster.StartAsync(1, reminders: false);
        var key = $"no-reminders-{Guid.NewGuid():N}";
        var stream = cluster.Streams.GetStream<long>(TallyGrain.Namespace, key);
        await AppendRangeAsync(stream, 1, 100, 10);
        await stream.CompleteAsync();
        var tally = cluster.Client.GetGrain<ITallyGrain>(key);
        await Eventually.HoldsAsync(async () => (await tally.Get()).Completed, Patience, async () => $"{await tally.Get()}");
        Assert.Equal((5_050L, 100L, 0L), ((await tally.Get()).Sum, (await tally.Get()).Count, (await tally.Get()).OutOfOrder));
    }

    [Fact]
    public async Task An_implicit_consumer_resumes_from_its_stored_cursor_after_the_streams_silo_is_killed_and_applies_each_item_once()
    {
        const long total = 3_000;
        await using var cluster = await LogTestCluster.StartAsync(3, o => o.MaxReadBatch = 50);
        var primary = cluster.Cluster.Silos[0].SiloAddress.ToString();
        string key;
        LogStreamInfo info;
        var attempt = 0;
        do
        {
            key = $"resume-{Guid.NewGuid():N}-{attempt++}";
            info = await cluster.Streams.GetStream<long>(TallyGrain.Namespace, key).GetInfoAsync();
        }
        while (info.Host == primary); // Kill a secondary silo: the primary also hosts the test's gateway bookkeeping.

        TallyLedger.BatchDelayMs[key] = 25; // Slow enough that the kill lands mid-delivery.
        var stream = cluster.Streams.GetStream<long>(TallyGrain.Namespace, key);
        await AppendRangeAsync(stream, 1, total, 100);
        await stream.CompleteAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(TallyLedger.Applied.GetValueOrDefault(key)?.Count >= 300), Patience);

        await cluster.Cluster.KillSiloAsync(cluster.SiloAt(info.Host), Cancellation);
        var atKill = TallyLedger.Applied[key];
        Assert.True(atKill.Count < total, "Delivery had finished before the kill; the test proves nothing.");

        // Nothing is appended after the kill: only the reminder can bring the stream back to finish the delivery.
        var tally = cluster.Client.GetGrain<ITallyGrain>(key);
        await Eventually.HoldsAsync(() => Task.FromResult(TallyLedger.Applied[key].Completed), TimeSpan.FromSeconds(90),
            () => Task.FromResult($"{TallyLedger.Applied[key]} (at the kill: {atKill})"));
        var view = await tally.Get();
        Assert.Equal((total * (total + 1) / 2, total, total, 0L), (view.Sum, view.Count, view.LastApplied, view.OutOfOrder));
        Assert.NotEqual(info.Host, view.Silo);
    }

    [Fact]
    public async Task Followers_on_another_silo_and_in_a_client_get_every_item_once_in_order_although_the_producers_silo_is_killed()
    {
        const long total = 12_000;
        const string ns = "follow";
        await using var cluster = await LogTestCluster.StartAsync(3);
        var primary = cluster.Cluster.Silos[0].SiloAddress.ToString();

        // A stream whose producer grain and log grain share a (secondary) silo: killing it takes both down mid-stream.
        string? key = null;
        string? victim = null;
        for (var i = 0; i < 1000 && key is null; i++)
        {
            var candidate = $"kill-{Guid.NewGuid():N}";
            var producerSilo = await cluster.Client.GetGrain<IProducerGrain>(candidate).Where();
            var streamSilo = (await cluster.Streams.GetStream<long>(ns, candidate).GetInfoAsync()).Host;
            if (producerSilo == streamSilo && streamSilo != primary)
            {
                (key, victim) = (candidate, streamSilo);
            }
        }

        Assert.NotNull(key);
        IFollowerGrain? follower = null;
        for (var i = 0; follower is null; i++)
        {
            var candidate = cluster.Client.GetGrain<IFollowerGrain>($"follower-{key}-{i}");
            if ((await candidate.Report()).Silo != victim)
            {
                follower = candidate;
            }
        }

        var inClient = new CollectingObserver<long>();
        await using var clientSubscription = await cluster.Streams.GetStream<long>(ns, key).SubscribeAsync(inClient, LogPosition.First);
        await follower.Follow(ns, key);
        var producer = cluster.Client.GetGrain<IProducerGrain>(key);
        await producer.Produce(ns, total, batch: 20, pauseMs: 2);
        await Eventually.HoldsAsync(() => Task.FromResult(inClient.Count >= 2_000), Patience);

        await cluster.Cluster.KillSiloAsync(cluster.SiloAt(victim!), Cancellation);
        var reachedAtKill = inClient.Count;

        // The producer died with its silo: a call reactivates it on a survivor, and it goes on from the stream's stored end.
        await RetryAsync(() => producer.Produce(ns, total, batch: 20, pauseMs: 2));
        await inClient.Completed.WaitAsync(TimeSpan.FromSeconds(90), Cancellation);
        await Eventually.HoldsAsync(async () => (await follower.Report()).Completed, Patience, async () => $"{await follower.Report()}");

        Assert.True(reachedAtKill < total, "The stream had finished before its silo was killed; the test proves nothing.");
        AssertExactly(inClient.Items, 1, total);
        var report = await follower.Report();
        Assert.Equal((total, total, 0L, 0L, 0L, true, 0L),
            (report.Count, report.Last, report.Gaps, report.Duplicates, report.WrongItems, report.Completed, report.Overlaps));
        Assert.NotEqual(victim, report.Silo);
    }

    [Fact]
    public async Task A_subscription_made_inside_a_grain_delivers_on_the_grains_own_turns()
    {
        await using var cluster = await LogTestCluster.StartAsync(2);
        var key = $"turns-{Guid.NewGuid():N}";
        var stream = cluster.Streams.GetStream<long>("turns", key);
        await AppendRangeAsync(stream, 1, 100, 10);
        var follower = cluster.Client.GetGrain<IFollowerGrain>(key);
        await follower.Follow("turns", key);

        var busy = Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                await follower.Busy(2);
            }
        }, Cancellation);
        await AppendRangeAsync(stream, 101, 600, 20);
        await stream.CompleteAsync();
        await busy;
        await Eventually.HoldsAsync(async () => (await follower.Report()).Completed, Patience, async () => $"{await follower.Report()}");
        var report = await follower.Report();
        Assert.Equal((600L, 600L, 0L, 0L, 0L), (report.Count, report.Last, report.Gaps, report.Duplicates, report.Overlaps));
    }

    private static async Task RetryAsync(Func<Task> call)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Cancellation);
            }
        }
    }
}
