using Actors.Runtime.Testing;
using Actors.Runtime.Tests.Grains;
using CloudDeck.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Actors.Runtime.Tests;

public sealed class StreamTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<InProcessTestCluster> StartAsync(StorageKind kind, Action<SiloBuilder>? configure = null)
    {
        var database = await TestSilos.CreateDatabaseAsync(kind, postgres);
        return await InProcessTestCluster.StartAsync(silo =>
        {
            silo.AddGrains(typeof(TestSilos).Assembly);
            if (kind == StorageKind.Sqlite)
            {
                silo.AddSqliteStorage(database).UseSqliteReminders(database).UseSqliteStreams(database);
            }
            else
            {
                silo.AddPostgresStorage(database).UsePostgresReminders(database).UsePostgresStreams(database);
            }

            configure?.Invoke(silo);
        });
    }

    private static IAsyncStream<T> Stream<T>(InProcessTestCluster silo, string ns, string key) =>
        silo.Services.GetRequiredService<IStreamProvider>().GetStream<T>(ns, key);

    private static async Task AppendRangeAsync(IAsyncStream<long> stream, long first, long last, int batch)
    {
        for (var start = first; start <= last; start += batch)
        {
            var items = Enumerable.Range(0, (int)Math.Min(batch, last - start + 1)).Select(i => start + i).ToArray();
            var token = await stream.OnNextBatchAsync(items, new StreamSequenceToken(start));
            Assert.Equal(items[^1], token.SequenceNumber);
        }
    }

    private static void AssertExactly(IReadOnlyList<StreamItem<long>> items, long first, long last)
    {
        Assert.Equal(last - first + 1, items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            Assert.Equal(first + i, items[i].Token.SequenceNumber);
            Assert.Equal(first + i, items[i].Item);
        }
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.Postgres)]
    public async Task A_subscriber_that_joins_mid_stream_gets_history_then_live_items_without_gap_or_duplicate(StorageKind kind)
    {
        await using var silo = await StartAsync(kind);
        var stream = Stream<long>(silo, "numbers", "mid");
        await AppendRangeAsync(stream, 1, 2_000, 100);

        var historyThenLive = new CollectingObserver<long>();
        var fromToken = new CollectingObserver<long>();
        var producer = Task.Run(async () =>
        {
            // Uneven batches and single appends, as a build's output comes.
            for (long next = 2_001; next <= 6_000;)
            {
                var size = (int)Math.Min(1 + (next % 37), 6_001 - next);
                if (size == 1)
                {
                    Assert.Equal(next, (await stream.OnNextAsync(next)).SequenceNumber);
                }
                else
                {
                    await stream.OnNextBatchAsync(Enumerable.Range(0, size).Select(i => next + i).ToArray(), new StreamSequenceToken(next));
                }

                next += size;
                await Task.Yield();
            }

            await stream.OnCompletedAsync();
        }, Cancellation);

        await using var first = await stream.SubscribeAsync(historyThenLive, StreamSequenceToken.First);
        await using var second = await stream.SubscribeAsync(fromToken, new StreamSequenceToken(3_000));
        await producer.WaitAsync(Patience, Cancellation);
        await historyThenLive.Completed.WaitAsync(Patience, Cancellation);
        await fromToken.Completed.WaitAsync(Patience, Cancellation);

        AssertExactly(historyThenLive.Items, 1, 6_000);
        AssertExactly(fromToken.Items, 3_000, 6_000);
        Assert.Equal(6_000, first.LastDelivered?.SequenceNumber);
        var info = await stream.GetInfoAsync();
        Assert.Equal((1L, 6_000L, 6_000L, true), (info.FirstRetained, info.Last, info.Count, info.IsCompleted));
    }

    [Fact]
    public async Task A_subscription_without_a_position_gets_only_items_appended_after_it()
    {
        await using var silo = await StartAsync(StorageKind.Sqlite);
        var stream = Stream<long>(silo, "numbers", "live");
        await AppendRangeAsync(stream, 1, 10, 5);
        var observer = new CollectingObserver<long>();
        await using var subscription = await stream.SubscribeAsync(observer);
        await AppendRangeAsync(stream, 11, 20, 3);
        await stream.OnCompletedAsync();
        await observer.Completed.WaitAsync(Patience, Cancellation);
        AssertExactly(observer.Items, 11, 20);
    }

    [Fact]
    public async Task Concurrent_appends_are_numbered_once_each_with_no_gap()
    {
        await using var silo = await StartAsync(StorageKind.Sqlite);
        var stream = Stream<long>(silo, "numbers", "concurrent");
        var tokens = await Task.WhenAll(Enumerable.Range(0, 50).Select(producer => Task.Run(async () =>
        {
            var mine = new List<long>();
            for (var i = 0; i < 100; i++)
            {
                mine.Add((await stream.OnNextAsync(producer * 1_000L + i)).SequenceNumber);
            }

            return mine;
        }, Cancellation)));

        Assert.Equal(Enumerable.Range(1, 5_000).Select(i => (long)i), tokens.SelectMany(t => t).Order());
        var stored = new List<StreamItem<long>>();
        for (var from = StreamSequenceToken.First; ;)
        {
            var page = await stream.ReadAsync(from, 1_000);
            if (page.Items.Count == 0) break;
            stored.AddRange(page.Items);
            from = page.Next(from);
        }

        Assert.Equal(Enumerable.Range(1, 5_000).Select(i => (long)i), stored.Select(item => item.Token.SequenceNumber));
        Assert.Equal(tokens.SelectMany(t => t).Count(), stored.Select(item => item.Item).Distinct().Count());
    }

    [Fact]
    public async Task A_retried_idempotent_append_is_not_appended_twice_and_a_completed_stream_takes_no_more()
    {
        await using var silo = await StartAsync(StorageKind.Sqlite);
        var stream = Stream<long>(silo, "numbers", "idempotent");
        var once = await stream.OnNextBatchAsync([1, 2, 3], StreamSequenceToken.First);
        var again = await stream.OnNextBatchAsync([1, 2, 3], StreamSequenceToken.First);
        Assert.Equal(once, again);
        Assert.Equal(3, (await stream.GetInfoAsync()).Last);

        var conflict = await Assert.ThrowsAsync<StreamSequenceConflictException>(() => stream.OnNextBatchAsync([9], new StreamSequenceToken(7)));
        Assert.Contains("next position is 4", conflict.Message);

        await stream.OnCompletedAsync();
        await stream.OnCompletedAsync(); // Completing twice is the same completion.
        await Assert.ThrowsAsync<StreamCompletedException>(() => stream.OnNextAsync(4));
        Assert.Equal((3L, true), ((await stream.GetInfoAsync()).Last, (await stream.GetInfoAsync()).IsCompleted));
    }

    [Theory]
    [InlineData(StorageKind.Sqlite)]
    [InlineData(StorageKind.Postgres)]
    public async Task History_survives_a_crash_and_numbering_continues_after_it(StorageKind kind)
    {
        await using var silo = await StartAsync(kind);
        await AppendRangeAsync(Stream<long>(silo, "numbers", "crash"), 1, 100, 30);
        await silo.RestartAsync(graceful: false);

        var stream = Stream<long>(silo, "numbers", "crash");
        await AppendRangeAsync(stream, 101, 150, 7);
        await stream.OnCompletedAsync();
        var observer = new CollectingObserver<long>();
        await using var subscription = await stream.SubscribeAsync(observer, StreamSequenceToken.First);
        await observer.Completed.WaitAsync(Patience, Cancellation);
        AssertExactly(observer.Items, 1, 150);
    }

    [Fact]
    public async Task A_slow_subscriber_does_not_hold_the_producer_and_memory_stays_bounded_then_it_catches_up()
    {
        const int count = 60_000;
        await using var silo = await StartAsync(StorageKind.Sqlite, s => s.ConfigureStreams(o =>
        {
            o.SubscriberBuffer = 256;
            o.CacheSize = 1_024;
        }));
        var stream = silo.Services.GetRequiredService<IStreamProvider>().GetStream<string>("lines", "slow");
        var observer = new CollectingObserver<string> { Gate = new SemaphoreSlim(0) };
        await using var subscription = await stream.SubscribeAsync(observer, StreamSequenceToken.First);

        var padding = new string('x', 1_000);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var start = 1; start <= count; start += 1_000)
        {
            await stream.OnNextBatchAsync(Enumerable.Range(start, 1_000).Select(i => $"{i}:{padding}").ToArray());
        }

        await stream.OnCompletedAsync();
        // The producer is done although the subscriber has not taken a single item.
        Assert.Empty(observer.Items);
        var growth = GC.GetTotalMemory(forceFullCollection: true) - before;
        // 60,000 items of ~2 KB each in memory would be ~120 MB; the cache and buffer hold ~1,300 of them.
        Assert.True(growth < 30_000_000, $"The heap grew by {growth:N0} bytes while the subscriber lagged {count:N0} items.");

        observer.Gate.Release(int.MaxValue);
        await observer.Completed.WaitAsync(Patience, Cancellation);
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), observer.Items.Select(item => item.Token.SequenceNumber));
        Assert.All(observer.Items, item => Assert.StartsWith($"{item.Token.SequenceNumber}:", item.Item));
    }

    [Fact]
    public async Task Retention_by_count_keeps_the_newest_items()
    {
        await using var silo = await StartAsync(StorageKind.Sqlite, s => s.ConfigureStreams(o => o.Retention["bounded"] = new StreamRetention(MaxCount: 100)));
        var stream = Stream<long>(silo, "bounded", "b");
        await AppendRangeAsync(stream, 1, 1_000, 10);

        // Trimmed in steps of a tenth of the limit, just after the write that crossed it: never fewer than the limit.
        await ActivationTests.Eventually(async () => (await stream.GetInfoAsync()).Count <= 110);
        var info = await stream.GetInfoAsync();
        Assert.InRange(info.Count, 100, 110);
        var page = await stream.ReadAsync(StreamSequenceToken.First, 1_000);
        Assert.Equal(info.FirstRetained, page.Items[0].Token.SequenceNumber);
        Assert.Equal(1_000, page.Items[^1].Token.SequenceNumber);

        await silo.RestartAsync(graceful: false); // What was trimmed is gone from storage too, not only from memory.
        var reopened = await Stream<long>(silo, "bounded", "b").ReadAsync(StreamSequenceToken.First, 1_000);
        Assert.Equal(info.FirstRetained, reopened.Items[0].Token.SequenceNumber);
    }

    [Fact]
    public async Task Retention_by_age_deletes_old_items_of_that_namespace_only()
    {
        var clock = new ManualClock();
        await using var silo = await StartAsync(StorageKind.Sqlite, s =>
        {
            s.Services.AddSingleton<TimeProvider>(clock);
            s.ConfigureStreams(o => o.Retention["aging"] = new StreamRetention(MaxAge: TimeSpan.FromHours(1)));
        });
        var aging = Stream<long>(silo, "aging", "a");
        var kept = Stream<long>(silo, "numbers", "a");
        await AppendRangeAsync(aging, 1, 100, 10);
        await AppendRangeAsync(kept, 1, 50, 10);
        clock.Advance(TimeSpan.FromMinutes(90));
        await AppendRangeAsync(aging, 101, 120, 10);

        var sweeper = silo.Services.GetServices<IHostedService>().OfType<StreamRetentionService>().Single();
        Assert.Equal(100, await sweeper.SweepAsync(Cancellation));
        var page = await aging.ReadAsync(StreamSequenceToken.First, 1_000);
        Assert.Equal(Enumerable.Range(101, 20).Select(i => (long)i), page.Items.Select(item => item.Token.SequenceNumber));
        Assert.Equal(50, (await kept.ReadAsync(StreamSequenceToken.First, 1_000)).Items.Count);

        // A subscriber from the start resumes at what is left, rather than waiting for what is gone.
        var observer = new CollectingObserver<long>();
        await using var subscription = await aging.SubscribeAsync(observer, StreamSequenceToken.First);
        await aging.OnCompletedAsync();
        await observer.Completed.WaitAsync(Patience, Cancellation);
        AssertExactly(observer.Items, 101, 120);
    }

    [Fact]
    public async Task Numbering_goes_on_after_every_item_of_a_stream_expired()
    {
        var clock = new ManualClock();
        await using var silo = await StartAsync(StorageKind.Sqlite, s =>
        {
            s.Services.AddSingleton<TimeProvider>(clock);
            s.ConfigureStreams(o => o.Retention["aging"] = new StreamRetention(MaxAge: TimeSpan.FromHours(1)));
        });
        await AppendRangeAsync(Stream<long>(silo, "aging", "all"), 1, 10, 5);
        clock.Advance(TimeSpan.FromHours(2));
        var sweeper = silo.Services.GetServices<IHostedService>().OfType<StreamRetentionService>().Single();
        Assert.Equal(9, await sweeper.SweepAsync(Cancellation)); // The newest row stays: it carries the numbering.

        await silo.RestartAsync(graceful: false);
        var stream = Stream<long>(silo, "aging", "all");
        Assert.Empty((await stream.ReadAsync(StreamSequenceToken.First, 100)).Items);
        Assert.Equal(11, (await stream.OnNextAsync(11)).SequenceNumber);
    }

    [Fact]
    public async Task An_implicit_subscription_works_on_a_silo_without_reminders()
    {
        await using var silo = await TestSilos.StartAsync(s => s.UseMemoryStreams());
        var stream = silo.Services.GetRequiredService<IStreamProvider>().GetStream<long>("tally", "no-reminders");
        await AppendRangeAsync(stream, 1, 100, 10);
        var tally = silo.GrainFactory.GetGrain<ITallyGrain>("no-reminders");
        await ActivationTests.Eventually(async () => (await tally.Get()).Count == 100, (int)Patience.TotalMilliseconds);
        Assert.Equal(5_050, (await tally.Get()).Sum);
    }

    [Fact]
    public async Task An_implicit_subscription_activates_one_grain_per_stream_key_and_delivers_each_item_once_in_order()
    {
        await using var silo = await StartAsync(StorageKind.Sqlite);
        foreach (var key in new[] { "t1", "t2" })
        {
            var stream = Stream<long>(silo, "tally", key);
            await AppendRangeAsync(stream, 1, 1_000, 37);
            await stream.OnCompletedAsync();
        }

        foreach (var key in new[] { "t1", "t2" })
        {
            var tally = silo.GrainFactory.GetGrain<ITallyGrain>(key);
            await ActivationTests.Eventually(async () => (await tally.Get()).Completed, (int)Patience.TotalMilliseconds);
            Assert.Equal(new TallyView(500_500, 1_000, 1_000, true, 0), await tally.Get());
        }
    }

    [Fact]
    public async Task A_grain_subscriber_gets_its_items_on_its_own_turns()
    {
        await using var silo = await StartAsync(StorageKind.Sqlite);
        var listener = silo.GrainFactory.GetGrain<IListeningGrain>("listener");
        var stream = silo.Services.GetRequiredService<IStreamProvider>().GetStream<string>("listen", "s1");
        await stream.OnNextBatchAsync(Enumerable.Range(1, 100).Select(i => $"item-{i}").ToArray());
        await listener.Listen("s1", 1);

        var busy = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++) await listener.Busy(1);
        }, Cancellation);
        for (var start = 101; start <= 500; start += 20)
        {
            await stream.OnNextBatchAsync(Enumerable.Range(start, 20).Select(i => $"item-{i}").ToArray());
        }

        await stream.OnCompletedAsync();
        await busy;
        await ActivationTests.Eventually(async () => (await listener.Get()).Completed, (int)Patience.TotalMilliseconds);
        var view = await listener.Get();
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long)i), view.Tokens);
        Assert.Equal(0, view.Overlaps);
    }
}
