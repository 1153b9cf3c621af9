using CloudDeck.GrainInterfaces.Limits;

namespace CloudDeck.Grains.Limits;

/// <summary>
/// Requests counted in memory only: a silo's restart forgets them (a fresh window for whoever was limited), and no
/// counted request touches storage. The activation stays as long as its counts can refuse a request.
/// </summary>
public sealed class RateLimitGrain(TimeProvider clock) : Grain, IRateLimitGrain
{
    private SlidingWindow? _requests;
    private (int Limit, TimeSpan Window) _settings;

    public Task<TimeSpan> TryAcquire(int limit, TimeSpan window)
    {
        if (_requests is null || _settings != (limit, window))
        {
            _requests = new SlidingWindow(limit, window);
            _settings = (limit, window);
        }

        var now = clock.GetUtcNow();
        var wait = _requests.RetryAfter(now);
        if (wait > TimeSpan.Zero) return Task.FromResult(wait);
        _requests.Record(now);
        // Orleans collects an idle activation sooner than a window of an hour ends, which would forget the count.
        DelayDeactivation(window);
        return Task.FromResult(TimeSpan.Zero);
    }
}
