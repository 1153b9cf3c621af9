namespace CloudDeck.Grains.Accounts;

/// <summary>
/// Failed attempts within a sliding window, held in memory by the grain that owns them (an account or a
/// client address). When the limit is reached, the wait is until the oldest failure leaves the window.
/// </summary>
public sealed class FailureWindow(int limit, TimeSpan window)
{
    private readonly Queue<DateTimeOffset> _failures = new();

    public TimeSpan RetryAfter(DateTimeOffset now)
    {
        while (_failures.Count > 0 && _failures.Peek() <= now - window)
        {
            _failures.Dequeue();
        }

        return _failures.Count < limit ? TimeSpan.Zero : _failures.Peek() + window - now;
    }

    public void Record(DateTimeOffset now)
    {
        _failures.Enqueue(now);
        // Only the newest `limit` failures can decide a wait; older ones need not be kept.
        while (_failures.Count > limit)
        {
            _failures.Dequeue();
        }
    }

    public void Reset() => _failures.Clear();
}
