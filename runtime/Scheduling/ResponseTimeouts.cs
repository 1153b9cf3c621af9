namespace Actors.Runtime;

/// <summary>
/// Gives every call a deadline and fails the calls past it. One periodic scan over the activations
/// instead of a timer (or a table entry) per call: a call that is answered in time costs one store.
/// </summary>
internal sealed class ResponseTimeouts : IDisposable
{
    private readonly Catalog _catalog;
    private readonly Timer _scanner;
    private readonly long _timeoutMs;

    public ResponseTimeouts(TimeSpan timeout, Catalog catalog)
    {
        Timeout = timeout;
        _catalog = catalog;
        _timeoutMs = (long)timeout.TotalMilliseconds;
        var scanPeriod = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 10, 10, 1000));
        _scanner = new Timer(static state => ((ResponseTimeouts)state!).Scan(), this, scanPeriod, scanPeriod);
    }

    public TimeSpan Timeout { get; }

    private readonly List<Action<long>> _otherScans = [];

    public void Track(GrainRequest request) => request.DeadlineTicks = Environment.TickCount64 + _timeoutMs;

    /// <summary>Adds a place where unanswered calls wait (remote calls in flight), scanned with the activations.</summary>
    public void AddScan(Action<long> failExpired)
    {
        lock (_otherScans)
        {
            _otherScans.Add(failExpired);
        }
    }

    private void Scan()
    {
        var now = Environment.TickCount64;
        foreach (var activation in _catalog.All)
        {
            activation.FailExpired(now, Timeout);
        }

        lock (_otherScans)
        {
            foreach (var scan in _otherScans)
            {
                scan(now);
            }
        }
    }

    public void Dispose() => _scanner.Dispose();
}
