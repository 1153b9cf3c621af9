using Actors.Runtime;
using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Grains.Diagnostics;

public sealed class StreamProducerProbeGrain(IStreamProvider streams, LocalSiloDetails silo) : Grain, IStreamProducerProbeGrain
{
    private Task? _producing;

    public Task Produce(long upTo, int batch, int pauseMs)
    {
        if (_producing is null || _producing.IsCompleted)
        {
            var stream = streams.GetStream<long>(IStreamProducerProbeGrain.Namespace, GetPrimaryKeyString());
            // Off the grain's turns: appending is all it does, and Where() must answer meanwhile.
            _producing = Task.Run(() => ProduceAsync(stream, upTo, Math.Max(1, batch), pauseMs));
        }

        return Task.CompletedTask;
    }

    public Task<string> Where() => Task.FromResult(silo.Name);

    private static async Task ProduceAsync(IAsyncStream<long> stream, long upTo, int batch, int pauseMs)
    {
        var next = (await stream.GetInfoAsync()).Last + 1;
        while (next <= upTo)
        {
            var items = Enumerable.Range(0, (int)Math.Min(batch, upTo - next + 1)).Select(i => next + i).ToArray();
            try
            {
                await stream.OnNextBatchAsync(items, new StreamSequenceToken(next));
                next += items.Length;
            }
            catch (Exception)
            {
                // The stream is moving between silos: find out where it ends now and carry on from there.
                next = await EndOfAsync(stream) + 1;
                continue;
            }

            await Task.Delay(pauseMs);
        }

        await stream.OnCompletedAsync();
    }

    private static async Task<long> EndOfAsync(IAsyncStream<long> stream)
    {
        while (true)
        {
            try
            {
                return (await stream.GetInfoAsync()).Last;
            }
            catch (Exception)
            {
                await Task.Delay(50);
            }
        }
    }
}

public sealed class StreamListenerProbeGrain(IStreamProvider streams, LocalSiloDetails silo) : Grain, IStreamListenerProbeGrain, IAsyncObserver<long>
{
    private StreamSubscriptionHandle? _subscription;
    private long _count;
    private long _last;
    private long _gaps;
    private long _duplicates;
    private long _wrongItems;
    private bool _completed;

    public async Task Listen(string streamKey) =>
        _subscription ??= await streams.GetStream<long>(IStreamProducerProbeGrain.Namespace, streamKey).SubscribeAsync(this, StreamSequenceToken.First);

    public Task<StreamListenerReport> Report() =>
        Task.FromResult(new StreamListenerReport(silo.Name, _count, _last, _gaps, _duplicates, _wrongItems, _completed));

    public Task OnNextAsync(long item, StreamSequenceToken token)
    {
        var seq = token.SequenceNumber;
        if (seq <= _last) _duplicates++;
        else if (seq != _last + 1) _gaps++;
        if (item != seq) _wrongItems++;
        _count++;
        _last = Math.Max(_last, seq);
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync()
    {
        _completed = true;
        return Task.CompletedTask;
    }
}
