using Actors.Extensions.Streams;
using Microsoft.Extensions.DependencyInjection;
using static Actors.Extensions.Tests.Streams.LogStreamTests;

namespace Actors.Extensions.Tests.Streams;

public sealed class LogRetentionAndBackpressureTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Retention_by_count_keeps_the_newest_items_in_memory_and_in_storage()
    {
        var store = new MemoryLogStore();
        await using var cluster = await LogTestCluster.StartAsync(1, o => o.Retention["bounded"] = new LogRetention(MaxCount: 100),
            configureStore: silo => silo.UseMemoryLogStore(store));
        var stream = cluster.Streams.GetStream<long>("bounded", "b");
        await AppendRangeAsync(stream, 1, 1_000, 10);

        // Trimmed in steps of a tenth of the limit, right after the write that crossed it: never fewer than the limit.
        await Eventually.HoldsAsync(async () => (await stream.GetInfoAsync()).Count <= 110, Patience);
        var info = await stream.GetInfoAsync();
        Assert.InRange(info.Count, 100, 110);
        var page = await stream.ReadAsync(LogPosition.First, 1_000);
        Assert.Equal(info.FirstRetained, page.Items[0].Position.SequenceNumber);
        Assert.Equal(1_000, page.Items[^1].Position.SequenceNumber);

        var stored = await store.ReadAsync(cluster.Cluster.Options.ServiceId, stream.Id, 1, 10_000, Cancellation);
        Assert.Equal(info.FirstRetained, stored[0].Seq); // Gone from storage too, not only from the cache.
        Assert.Equal(1_000, stored[^1].Seq);
    }

    [Fact]
    public async Task Retention_by_age_deletes_old_items_of_that_namespace_only_and_numbering_goes_on()
    {
        var clock = new ManualClock();
        await using var cluster = await LogTestCluster.StartAsync(1, o => o.Retention["aging"] = new LogRetention(MaxAge: TimeSpan.FromHours(1)),
            services: s => s.AddKeyedSingleton<TimeProvider>(LogStreamsBuilderExtensions.ClockServiceKey, clock));
        var aging = cluster.Streams.GetStream<long>("aging", "a");
        var kept = cluster.Streams.GetStream<long>("numbers", "a");
        var expiring = cluster.Streams.GetStream<long>("aging", "all");
        await AppendRangeAsync(aging, 1, 100, 10);
        await AppendRangeAsync(kept, 1, 50, 10);
        await AppendRangeAsync(expiring, 1, 10, 5);
        clock.Advance(TimeSpan.FromMinutes(90));
        await AppendRangeAsync(aging, 101, 120, 10);

        var sweeper = cluster.Cluster.Silos[0].SiloHost.Services.GetRequiredService<LogRetentionService>();
        // All 100 old items of "aging/a"; 9 of "aging/all", whose newest entry stays to carry the numbering.
        Assert.Equal(109, await sweeper.SweepAsync(Cancellation));
        AssertExactly((await aging.ReadAsync(LogPosition.First, 1_000)).Items, 101, 120);
        Assert.Equal(50, (await kept.ReadAsync(LogPosition.First, 1_000)).Items.Count);

        // Expired items read as gone even where the sweep left them (the newest one of "aging/all").
        Assert.Empty((await expiring.ReadAsync(LogPosition.First, 100)).Items);
        Assert.Equal(11, (await expiring.AppendAsync(11)).SequenceNumber);

        // A subscriber from the start resumes at what is left, rather than waiting for what is gone.
        var observer = new CollectingObserver<long>();
        await using var subscription = await aging.SubscribeAsync(observer, LogPosition.First);
        await aging.CompleteAsync();
        await observer.Completed.WaitAsync(Patience, Cancellation);
        AssertExactly(observer.Items, 101, 120);
    }

    [Fact]
    public async Task A_slow_subscriber_never_holds_more_than_its_buffer_and_the_producer_never_waits_for_it()
    {
        const int count = 100_000;
        const int buffer = 256;
        await using var cluster = await LogTestCluster.StartAsync(1, o =>
        {
            o.SubscriberBuffer = buffer;
            o.CacheSize = 1_024;
        });
        var stream = cluster.Streams.GetStream<long>("lines", "slow");
        var observer = new CollectingObserver<long> { Gate = new SemaphoreSlim(0) };
        var subscription = (LogSubscriptionLoop<long>)await stream.SubscribeAsync(observer, LogPosition.First);
        await using var _ = subscription;

        for (var start = 1; start <= count; start += 1_000)
        {
            var first = start;
            await stream.AppendBatchAsync(Enumerable.Range(first, 1_000).Select(i => (long)i).ToArray(), new LogPosition(first));
        }

        await stream.CompleteAsync();
        // The producer is done although the subscriber has not finished a single batch.
        Assert.Equal(0, observer.Count);
        await Eventually.HoldsAsync(() => Task.FromResult(subscription.HeldCount == buffer), Patience);

        observer.Gate.Release(int.MaxValue);
        await observer.Completed.WaitAsync(Patience, Cancellation);
        AssertExactly(observer.Items, 1, count);
        Assert.InRange(subscription.PeakHeldCount, 1, buffer);
    }
}
