using Actors.Extensions.Streams;

namespace Actors.Extensions.Tests.Streams;

/// <summary>Keeps what a subscription delivers. Deliveries come one call at a time, so the list needs no lock while they run.</summary>
internal sealed class CollectingObserver<T> : ILogObserver<T>
{
    private readonly List<LogItem<T>> _items = [];
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count;

    /// <summary>When set, every batch waits for one release: a subscriber as slow as the test wants.</summary>
    public SemaphoreSlim? Gate { get; init; }

    public IReadOnlyList<LogItem<T>> Items => _items;

    public int Count => Volatile.Read(ref _count);

    public Task Completed => _completed.Task;

    public Task OnNextAsync(T item, LogPosition position) => throw new InvalidOperationException("Batches only.");

    public async Task OnNextBatchAsync(IReadOnlyList<LogItem<T>> items)
    {
        if (Gate is not null)
        {
            await Gate.WaitAsync(TestContext.Current.CancellationToken);
        }

        _items.AddRange(items);
        Interlocked.Add(ref _count, items.Count);
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
