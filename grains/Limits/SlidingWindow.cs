namespace CloudDeck.Grains.Limits;

/// <summary>
/// Events within a sliding window (failed attempts, requests), held in memory by the grain that owns them. When the
/// limit is reached, the wait is until the oldest event leaves the window.
/// </summary>
public sealed class SlidingWindow(int limit, TimeSpan window)
{
    private readonly Queue<DateTimeOffset> _events = new();

    public TimeSpan RetryAfter(DateTimeOffset now)
    {
        while (_events.Count > 0 && _events.Peek() <= now - window)
        {
            _events.Dequeue();
        }

        return _events.Count < limit ? TimeSpan.Zero : _events.Peek() + window - now;
    }

    public void Record(DateTimeOffset now)
    {
        _events.Enqueue(now);
        // Only the newest `limit` events can decide a wait; older ones need not be kept.
        while (_events.Count > limit)
        {
            _events.Dequeue();
        }
    }

    public void Reset() => _events.Clear();
}
