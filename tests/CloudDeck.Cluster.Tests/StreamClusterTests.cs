using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Cluster.Tests;

/// <summary>Streams across silo processes: subscribers on another silo and in a client, and the producer's silo SIGKILLed.</summary>
public sealed class StreamClusterTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_subscriber_in_a_client_gets_every_item_once_in_order_although_the_producers_silo_is_SIGKILLed()
    {
        const long total = 12_000;
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct);
        var streams = cluster.Services.GetRequiredService<ILogStreamProvider>();

        // A stream whose producer grain and stream grain share a silo: killing it takes both down mid-stream.
        string? streamKey = null;
        string? victimName = null;
        for (var i = 0; i < 200 && streamKey is null; i++)
        {
            var key = $"kill-{i}";
            var producerSilo = await cluster.Grains.GetGrain<IStreamProducerProbeGrain>(key).Where();
            var streamSilo = (await streams.GetStream<long>(IStreamProducerProbeGrain.Namespace, key).GetInfoAsync()).Host;
            if (producerSilo == streamSilo)
            {
                (streamKey, victimName) = (key, producerSilo);
            }
        }

        Assert.NotNull(streamKey);
        var victim = cluster.Silos.Single(silo => silo.Address.ToString() == victimName);
        // A follower grain on a surviving silo is not asserted here: with Orleans' default (eventually consistent) grain
        // directory, a grain whose directory entry lived on the killed silo can get a second, empty activation, so its
        // in-memory counters read 0. Silo-side followers are shown on a consistent directory in Actors.Extensions.Tests
        // (Followers_on_another_silo_and_in_a_client_get_every_item_once_in_order_although_the_producers_silo_is_killed).
        var inClient = new RecordingObserver();
        await using var clientSubscription = await streams.GetStream<long>(IStreamProducerProbeGrain.Namespace, streamKey)
            .SubscribeAsync(inClient, LogPosition.First);
        var producer = cluster.Grains.GetGrain<IStreamProducerProbeGrain>(streamKey);
        await producer.Produce(total, batch: 20, pauseMs: 2);

        while (inClient.Count < 2_000)
        {
            await Task.Delay(20, Ct);
        }

        victim.Process.Kill(Signal.SIGKILL);
        var reachedAtKill = inClient.Count;

        // The producer grain died with its silo: a call reactivates it on a survivor, and it goes on from the stream's end.
        await RetryAsync(() => producer.Produce(total, batch: 20, pauseMs: 2));
        await inClient.Completed.WaitAsync(Patience, Ct);
        Assert.True(reachedAtKill < total, "The stream had finished before its silo was killed; the test proves nothing.");
        Assert.Equal(Enumerable.Range(1, (int)total).Select(i => (long)i), inClient.Tokens);
        Assert.Equal(0, inClient.WrongItems);
    }

    private static async Task RetryAsync(Func<Task> call)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Ct);
            }
        }
    }

    private sealed class RecordingObserver : ILogObserver<long>
    {
        private readonly List<long> _tokens = [];
        private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count => Volatile.Read(ref _count);

        private int _count;

        public long WrongItems { get; private set; }

        public IReadOnlyList<long> Tokens => _tokens;

        public Task Completed => _completed.Task;

        public Task OnNextAsync(long item, LogPosition token)
        {
            // One call at a time per subscription: no lock needed.
            _tokens.Add(token.SequenceNumber);
            if (item != token.SequenceNumber) WrongItems++;
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }

        public Task OnCompletedAsync()
        {
            _completed.TrySetResult();
            return Task.CompletedTask;
        }

        public Task OnErrorAsync(Exception error)
        {
            _completed.TrySetException(error);
            return Task.CompletedTask;
        }
    }
}
