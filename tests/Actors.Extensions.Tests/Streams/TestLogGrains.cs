using System.Collections.Concurrent;
using Actors.Extensions.Streams;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.Streams;

/// <summary>What a tally has applied. <see cref="Redelivered"/> counts items that came again after a crash and were skipped.</summary>
[GenerateSerializer, Immutable, Alias("test.log.tally-view")]
public sealed record TallyView([property: Id(0)] long Sum, [property: Id(1)] long Count, [property: Id(2)] long LastApplied,
    [property: Id(3)] bool Completed, [property: Id(4)] long OutOfOrder, [property: Id(5)] long Redelivered, [property: Id(6)] string Silo);

[Alias("test.log.ITallyGrain")]
public interface ITallyGrain : IGrainWithStringKey
{
    [Alias("get")]
    Task<TallyView> Get();
}

/// <summary>
/// Stands in for the state a real consumer keeps in grain storage: it outlives any silo of the in-process cluster, as a
/// database row would. Keyed by grain key; each test uses keys of its own.
/// </summary>
internal static class TallyLedger
{
    public static readonly ConcurrentDictionary<string, TallyView> Applied = new(StringComparer.Ordinal);

    /// <summary>Milliseconds each delivered batch takes, per key: a slow consumer that a killed silo interrupts mid-stream.</summary>
    public static readonly ConcurrentDictionary<string, int> BatchDelayMs = new(StringComparer.Ordinal);
}

/// <summary>An implicit consumer of "tally" streams that applies each item once, whatever is delivered twice.</summary>
[ImplicitLogConsumer(Namespace)]
[GrainType("test.tally")]
public sealed class TallyGrain(ILocalSiloDetails silo) : Grain, ITallyGrain, ILogConsumer<long>
{
    public const string Namespace = "tally";

    private string Key => this.GetPrimaryKeyString();

    public Task<TallyView> Get() => Task.FromResult(Current() with { Silo = silo.SiloAddress.ToString() });

    public async Task OnNextBatchAsync(LogStreamId stream, IReadOnlyList<LogItem<long>> items)
    {
        if (TallyLedger.BatchDelayMs.TryGetValue(Key, out var delay))
        {
            await Task.Delay(delay);
        }

        var view = Current();
        foreach (var item in items)
        {
            if (item.Position.SequenceNumber <= view.LastApplied)
            {
                view = view with { Redelivered = view.Redelivered + 1 };
                continue;
            }

            var outOfOrder = item.Position.SequenceNumber != view.LastApplied + 1 || item.Item != item.Position.SequenceNumber;
            view = view with
            {
                Sum = view.Sum + item.Item,
                Count = view.Count + 1,
                LastApplied = item.Position.SequenceNumber,
                OutOfOrder = view.OutOfOrder + (outOfOrder ? 1 : 0),
            };
        }

        TallyLedger.Applied[Key] = view; // One write per batch, as a grain would write its state.
    }

    public Task OnCompletedAsync(LogStreamId stream)
    {
        TallyLedger.Applied[Key] = Current() with { Completed = true };
        return Task.CompletedTask;
    }

    private TallyView Current() => TallyLedger.Applied.GetValueOrDefault(Key) ?? new TallyView(0, 0, 0, false, 0, 0, "");
}

[GenerateSerializer, Immutable, Alias("test.log.follower-report")]
public sealed record FollowerReport([property: Id(0)] string Silo, [property: Id(1)] long Count, [property: Id(2)] long Last,
    [property: Id(3)] long Gaps, [property: Id(4)] long Duplicates, [property: Id(5)] long WrongItems, [property: Id(6)] bool Completed,
    [property: Id(7)] long Overlaps);

[Alias("test.log.IFollowerGrain")]
public interface IFollowerGrain : IGrainWithStringKey
{
    [Alias("follow")]
    Task Follow(string ns, string streamKey);

    [Alias("report")]
    Task<FollowerReport> Report();

    /// <summary>A request that takes a while and yields in the middle: a delivery must not run inside it.</summary>
    [Alias("busy")]
    Task Busy(int ms);
}

/// <summary>Follows a stream from its first item inside a grain: deliveries run on the grain's own scheduler.</summary>
[GrainType("test.follower")]
public sealed class FollowerGrain(ILogStreamProvider streams, ILocalSiloDetails silo) : Grain, IFollowerGrain, ILogObserver<long>
{
    private LogSubscription? _subscription;
    private long _count;
    private long _last;
    private long _gaps;
    private long _duplicates;
    private long _wrongItems;
    private bool _completed;
    private bool _inRequest;
    private long _overlaps;

    public async Task Busy(int ms)
    {
        _inRequest = true;
        await Task.Delay(ms);
        _inRequest = false;
    }

    public async Task Follow(string ns, string streamKey) =>
        _subscription ??= await streams.GetStream<long>(ns, streamKey).SubscribeAsync(this, LogPosition.First);

    public Task<FollowerReport> Report() =>
        Task.FromResult(new FollowerReport(silo.SiloAddress.ToString(), _count, _last, _gaps, _duplicates, _wrongItems, _completed, _overlaps));

    public Task OnNextAsync(long item, LogPosition position)
    {
        _overlaps += _inRequest ? 1 : 0;
        if (position.SequenceNumber <= _last)
        {
            _duplicates++;
        }
        else if (position.SequenceNumber != _last + 1)
        {
            _gaps++;
        }

        _wrongItems += item == position.SequenceNumber ? 0 : 1;
        _last = Math.Max(_last, position.SequenceNumber);
        _count++;
        return Task.CompletedTask;
    }

    public Task OnCompletedAsync()
    {
        _completed = true;
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync();
        }
    }
}

[Alias("test.log.IProducerGrain")]
public interface IProducerGrain : IGrainWithStringKey
{
    /// <summary>Starts appending items (each item equal to its position) up to <paramref name="total"/>, then completes; returns at once.</summary>
    [Alias("produce")]
    Task Produce(string ns, long total, int batch, int pauseMs);

    [Alias("where")]
    Task<string> Where();
}

/// <summary>A producer grain that writes a stream in the background and picks up where the stream ends after a crash.</summary>
/// <remarks>
/// Placed at random: the kill tests look for a producer on the same silo as its stream, and Orleans' default placement
/// weighs silos by load, which on a busy machine can put every new producer on one silo.
/// </remarks>
[Orleans.Placement.RandomPlacement]
[GrainType("test.producer")]
public sealed class ProducerGrain(ILogStreamProvider streams, ILocalSiloDetails silo) : Grain, IProducerGrain
{
    private Task? _producing;

    public Task<string> Where() => Task.FromResult(silo.SiloAddress.ToString());

    public Task Produce(string ns, long total, int batch, int pauseMs)
    {
        if (_producing is null || _producing.IsCompleted)
        {
            _producing = ProduceAsync(streams.GetStream<long>(ns, this.GetPrimaryKeyString()), total, batch, pauseMs);
        }

        return Task.CompletedTask;
    }

    private static async Task ProduceAsync(ILogStream<long> stream, long total, int batch, int pauseMs)
    {
        var next = (await stream.GetInfoAsync()).Last + 1;
        while (next <= total)
        {
            var first = next;
            var items = Enumerable.Range(0, (int)Math.Min(batch, total - first + 1)).Select(i => first + i).ToArray();
            await stream.AppendBatchAsync(items, new LogPosition(first));
            next += items.Length;
            await Task.Delay(pauseMs);
        }

        await stream.CompleteAsync();
    }
}
