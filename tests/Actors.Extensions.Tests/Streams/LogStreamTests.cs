using Microsoft.Extensions.DependencyInjection;
using Actors.Extensions.Streams;

namespace Actors.Extensions.Tests.Streams;

/// <summary>The log stream guarantees on one silo, through a cluster client as the API process would use them.</summary>
public sealed class LogStreamTests
{
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    internal static async Task AppendRangeAsync(ILogStream<long> stream, long first, long last, int batch)
    {
        for (var start = first; start <= last; start += batch)
        {
            var from = start;
            var items = Enumerable.Range(0, (int)Math.Min(batch, last - from + 1)).Select(i => from + i).ToArray();
            var position = await stream.AppendBatchAsync(items, new LogPosition(from));
            Assert.Equal(items[^1], position.SequenceNumber);
        }
    }

    internal static void AssertExactly(IReadOnlyList<LogItem<long>> items, long first, long last)
    {
        Assert.Equal(last - first + 1, items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            Assert.Equal(first + i, items[i].Position.SequenceNumber);
            Assert.Equal(first + i, items[i].Item);
        }
    }

    [Fact]
    public async Task A_subscriber_that_joins_mid_stream_gets_history_then_live_items_without_gap_or_duplicate()
    {
        await using var cluster = await LogTestCluster.StartAsync(2);
        var stream = cluster.Streams.GetStream<long>("numbers", "mid");
        await AppendRangeAsync(stream, 1, 2_000, 100);

        var historyThenLive = new CollectingObserver<long>();
        var fromMiddle = new CollectingObserver<long>();
        var producer = Task.Run(async () =>
        {
            // Uneven batches and single appends, as a build's output comes.
            for (long next = 2_001; next <= 6_000;)
            {
                var size = (int)Math.Min(1 + (next % 37), 6_001 - next);
                if (size == 1)
                {
                    Assert.Equal(next, (await stream.AppendAsync(next)).SequenceNumber);
                }
                else
                {
                    var first = next;
                    await stream.AppendBatchAsync(Enumerable.Range(0, size).Select(i => first + i).ToArray(), new LogPosition(first));
                }

                next += size;
            }

            await stream.CompleteAsync();
        }, Cancellation);

        await using var first = await stream.SubscribeAsync(historyThenLive, LogPosition.First);
        await using var second = await stream.SubscribeAsync(fromMiddle, new LogPosition(3_000));
        await producer.WaitAsync(Patience, Cancellation);
        await historyThenLive.Completed.WaitAsync(Patience, Cancellation);
        await fromMiddle.Completed.WaitAsync(Patience, Cancellation);

        AssertExactly(historyThenLive.Items, 1, 6_000);
        AssertExactly(fromMiddle.Items, 3_000, 6_000);
        Assert.Equal(6_000, first.LastDelivered?.SequenceNumber);
        var info = await stream.GetInfoAsync();
        Assert.Equal((1L, 6_000L, 6_000L, true), (info.FirstRetained, info.Last, info.Count, info.IsCompleted));
    }

    [Fact]
    public async Task A_subscription_without_a_position_gets_only_items_appended_after_it()
    {
        await using var cluster = await LogTestCluster.StartAsync(1);
        var stream = cluster.Streams.GetStream<long>("numbers", "live");
        await AppendRangeAsync(stream, 1, 10, 5);
        var observer = new CollectingObserver<long>();
        await using var subscription = await stream.SubscribeAsync(observer);
        await AppendRangeAsync(stream, 11, 20, 3);
        await stream.CompleteAsync();
        await observer.Completed.WaitAsync(Patience, Cancellation);
        AssertExactly(observer.Items, 11, 20);
    }

    [Fact]
    public async Task Concurrent_appends_are_numbered_once_each_with_no_gap()
    {
        await using var cluster = await LogTestCluster.StartAsync(1);
        var stream = cluster.Streams.GetStream<long>("numbers", "concurrent");
        var positions = await Task.WhenAll(Enumerable.Range(0, 50).Select(producer => Task.Run(async () =>
        {
            var mine = new List<long>();
            for (var i = 0; i < 100; i++)
            {
                mine.Add((await stream.AppendAsync(producer * 1_000L + i)).SequenceNumber);
            }

            return mine;
        }, Cancellation)));

        Assert.Equal(Enumerable.Range(1, 5_000).Select(i => (long)i), positions.SelectMany(p => p).Order());
        var stored = await ReadAllAsync(stream, 1_000);
        Assert.Equal(Enumerable.Range(1, 5_000).Select(i => (long)i), stored.Select(item => item.Position.SequenceNumber));
        Assert.Equal(5_000, stored.Select(item => item.Item).Distinct().Count());
    }

    [Fact]
    public async Task A_retried_idempotent_append_is_not_appended_twice_and_a_completed_stream_takes_no_more()
    {
        await using var cluster = await LogTestCluster.StartAsync(1);
        var stream = cluster.Streams.GetStream<long>("numbers", "idempotent");
        var once = await stream.AppendBatchAsync([1, 2, 3], LogPosition.First);
        var again = await stream.AppendBatchAsync([1, 2, 3], LogPosition.First);
        Assert.Equal(once, again);
        Assert.Equal(3, (await stream.GetInfoAsync()).Last);

        var conflict = await Assert.ThrowsAsync<LogSequenceConflictException>(() => stream.AppendBatchAsync([9], new LogPosition(7)));
        Assert.Contains("next position is 4", conflict.Message, StringComparison.Ordinal);

        await stream.CompleteAsync();
        await stream.CompleteAsync(); // Completing twice is the same completion.
        await Assert.ThrowsAsync<LogCompletedException>(() => stream.AppendAsync(4));
        var info = await stream.GetInfoAsync();
        Assert.Equal((3L, true), (info.Last, info.IsCompleted));

        // A subscriber that comes after the end is told so, instead of waiting forever.
        var late = new CollectingObserver<long>();
        await using var subscription = await stream.SubscribeAsync(late, new LogPosition(4));
        await late.Completed.WaitAsync(Patience, Cancellation);
        Assert.Empty(late.Items);
    }

    [Fact]
    public async Task Reading_pages_through_history_from_any_position()
    {
        await using var cluster = await LogTestCluster.StartAsync(1, o => o.MaxReadBatch = 700);
        var stream = cluster.Streams.GetStream<long>("numbers", "pages");
        await AppendRangeAsync(stream, 1, 2_500, 250);

        var page = await stream.ReadAsync(new LogPosition(1_001), 10);
        AssertExactly(page.Items, 1_001, 1_010);
        Assert.Equal((2_500L, false), (page.Last, page.IsCompleted));
        Assert.Equal(new LogPosition(1_011), page.Next(new LogPosition(1_001)));

        var capped = await stream.ReadAsync(LogPosition.First, 5_000);
        Assert.Equal(700, capped.Items.Count); // MaxReadBatch bounds one read, whatever is asked.

        AssertExactly(await ReadAllAsync(stream, 1_000), 1, 2_500);
        var beyond = await stream.ReadAsync(new LogPosition(2_501), 10);
        Assert.Empty(beyond.Items);
        Assert.Equal(new LogPosition(2_501), beyond.Next(new LogPosition(2_501)));
    }

    [Fact]
    public async Task A_read_waiting_at_the_head_wakes_on_the_next_append()
    {
        // The wait bound (one minute) is longer than the test's patience for the answer: only the append can end it in time.
        await using var cluster = await LogTestCluster.StartAsync(1, o => o.LiveWait = TimeSpan.FromMinutes(1),
            services: s => s.Configure<Orleans.Configuration.SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(3)));
        var stream = cluster.Streams.GetStream<long>("numbers", "head");
        await AppendRangeAsync(stream, 1, 5, 5);
        var grain = cluster.Client.GetGrain<ILogStreamGrain>(stream.Id.ToString());

        var waiting = grain.Read(6, 100, waitMs: 60_000, Cancellation);
        await Task.Delay(200, Cancellation);
        Assert.False(waiting.IsCompleted);
        await stream.AppendBatchAsync([6, 7], new LogPosition(6));
        var slice = await waiting.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        Assert.Equal([6L, 7L], slice.Records.Select(record => record.Seq));
    }

    [Fact]
    public async Task Deactivating_a_stream_answers_its_waiting_readers_at_once_instead_of_holding_the_deactivation()
    {
        await using var cluster = await LogTestCluster.StartAsync(1, o => o.LiveWait = TimeSpan.FromMinutes(1),
            services: s => s.Configure<Orleans.Configuration.SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromMinutes(3)));
        var stream = cluster.Streams.GetStream<long>("numbers", "deactivate");
        await AppendRangeAsync(stream, 1, 5, 5);
        var grain = cluster.Client.GetGrain<ILogStreamGrain>(stream.Id.ToString());
        var waiting = grain.Read(6, 100, waitMs: 60_000, Cancellation);
        await Task.Delay(200, Cancellation);
        Assert.False(waiting.IsCompleted);

        // Orleans finishes a deactivation only when no request runs; a waiting read would hold it for its whole wait.
        await cluster.Cluster.DeactivateAsync(grain).WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        var slice = await waiting.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        Assert.Empty(slice.Records);
        Assert.Equal(5, (await stream.GetInfoAsync()).Last); // The next activation answers, with the stored history.
    }

    internal static async Task<List<LogItem<long>>> ReadAllAsync(ILogStream<long> stream, int pageSize)
    {
        var all = new List<LogItem<long>>();
        for (var from = LogPosition.First; ;)
        {
            var page = await stream.ReadAsync(from, pageSize);
            if (page.Items.Count == 0)
            {
                return all;
            }

            all.AddRange(page.Items);
            from = page.Next(from);
        }
    }
}
