using System.Collections.Concurrent;

namespace Actors.Runtime.Tests.Grains;

/// <summary>Counts the items of stream ("tally", key) without anyone subscribing: an implicit subscription.</summary>
public interface ITallyGrain : IGrainWithStringKey
{
    Task<TallyView> Get();
}

public sealed record TallyView(long Sum, int Count, long LastToken, bool Completed, int Duplicates);

[ImplicitStreamSubscription("tally")]
public sealed class TallyGrain : Grain, ITallyGrain, IStreamConsumer<int>
{
    private long _sum;
    private int _count;
    private long _lastToken;
    private bool _completed;
    private int _duplicates;

    public Task OnNextBatchAsync(StreamId stream, IReadOnlyList<StreamItem<int>> items)
    {
        foreach (var item in items)
        {
            // At least once: a batch may come again after a crash, so the last applied token decides.
            if (item.Token.SequenceNumber <= _lastToken)
            {
                _duplicates++;
                continue;
            }

            Assert.Equal(_lastToken + 1, item.Token.SequenceNumber);
            _sum += item.Item;
            _count++;
            _lastToken = item.Token.SequenceNumber;
        }

        return Task.CompletedTask;
    }

    public Task OnCompletedAsync(StreamId stream)
    {
        _completed = true;
        return Task.CompletedTask;
    }

    public Task<TallyView> Get() => Task.FromResult(new TallyView(_sum, _count, _lastToken, _completed, _duplicates));
}

/// <summary>A grain that subscribes to a stream itself: deliveries take its turns and must never overlap its requests.</summary>
public interface IListeningGrain : IGrainWithStringKey
{
    Task Listen(string streamKey, long from);

    Task<ListeningView> Get();

    Task Busy(int milliseconds);
}

public sealed record ListeningView(long[] Tokens, bool Completed, int Overlaps);

public sealed class ListeningGrain(IStreamProvider streams) : Grain, IListeningGrain, IAsyncObserver<string>
{
    private readonly List<long> _tokens = [];
    private StreamSubscriptionHandle? _subscription;
    private bool _completed;
    private int _inTurn;
    private int _overlaps;

    public async Task Listen(string streamKey, long from) =>
        _subscription = await streams.GetStream<string>("listen", streamKey).SubscribeAsync(this, new StreamSequenceToken(from));

    public Task<ListeningView> Get() => Task.FromResult(new ListeningView(_tokens.ToArray(), _completed, _overlaps));

    public async Task Busy(int milliseconds)
    {
        Enter();
        await Task.Delay(milliseconds);
        Leave();
    }

    public async Task OnNextAsync(string item, StreamSequenceToken token)
    {
        Enter();
        await Task.Yield();
        Assert.Equal($"item-{token.SequenceNumber}", item);
        _tokens.Add(token.SequenceNumber);
        Leave();
    }

    public Task OnCompletedAsync()
    {
        _completed = true;
        return Task.CompletedTask;
    }

    private void Enter()
    {
        if (Interlocked.Increment(ref _inTurn) > 1)
        {
            _overlaps++;
        }
    }

    private void Leave() => Interlocked.Decrement(ref _inTurn);
}

/// <summary>Collects what a subscription outside any grain delivers.</summary>
public sealed class CollectingObserver<T> : IAsyncObserver<T>
{
    private readonly ConcurrentQueue<StreamItem<T>> _items = new();
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set to hold each delivery until released: a slow subscriber.</summary>
    public SemaphoreSlim? Gate { get; set; }

    public IReadOnlyList<StreamItem<T>> Items => _items.ToArray();

    public Task Completed => _completed.Task;

    public async Task OnNextAsync(T item, StreamSequenceToken token)
    {
        if (Gate is { } gate)
        {
            await gate.WaitAsync();
        }

        _items.Enqueue(new StreamItem<T>(item, token));
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
