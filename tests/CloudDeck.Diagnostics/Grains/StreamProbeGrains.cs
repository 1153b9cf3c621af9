using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Grains.Diagnostics;

public sealed class StreamProducerProbeGrain(ILogStreamProvider streams, ILocalSiloDetails silo) : Grain, IStreamProducerProbeGrain
{
    private Task? _producing;

    public Task Produce(long upTo, int batch, int pauseMs)
    {
        if (_producing is null || _producing.IsCompleted)
        {
            var stream = streams.GetStream<long>(IStreamProducerProbeGrain.Namespace, this.GetPrimaryKeyString());
            // Off the grain's turns: appending is all it does, and Where() must answer meanwhile.
            _producing = Task.Run(() => ProduceAsync(stream, upTo, Math.Max(1, batch), pauseMs));
        }

        return Task.CompletedTask;
    }

    public Task<string> Where() => Task.FromResult(silo.SiloAddress.ToString());

    private static async Task ProduceAsync(ILogStream<long> stream, long upTo, int batch, int pauseMs)
    {
        var next = (await stream.GetInfoAsync()).Last + 1;
        while (next <= upTo)
        {
            var items = Enumerable.Range(0, (int)Math.Min(batch, upTo - next + 1)).Select(i => next + i).ToArray();
            try
            {
                await stream.AppendBatchAsync(items, new LogPosition(next));
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

        await stream.CompleteAsync();
    }

    private static async Task<long> EndOfAsync(ILogStream<long> stream)
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
