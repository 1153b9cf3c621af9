namespace CloudDeck.Grains.Usage;

/// <summary>A token bucket: <see cref="Capacity"/> tokens, refilled at <see cref="PerSecond"/>. Not thread-safe (a grain's turn owns it).</summary>
public sealed class TokenBucket
{
    private double _tokens;
    private DateTimeOffset _refilledAt;

    public TokenBucket(double perSecond, double capacity, DateTimeOffset now)
    {
        PerSecond = perSecond;
        Capacity = capacity;
        _tokens = capacity;
        _refilledAt = now;
    }

    public double PerSecond { get; }

    public double Capacity { get; }

    /// <summary>Takes <paramref name="count"/> tokens, or none and says how long until there would be enough.</summary>
    public bool TryTake(int count, DateTimeOffset now, out TimeSpan wait)
    {
        if (now > _refilledAt)
        {
            _tokens = Math.Min(Capacity, _tokens + (now - _refilledAt).TotalSeconds * PerSecond);
            _refilledAt = now;
        }

        if (_tokens >= count)
        {
            _tokens -= count;
            wait = TimeSpan.Zero;
            return true;
        }

        wait = TimeSpan.FromSeconds((count - _tokens) / PerSecond);
        return false;
    }
}
