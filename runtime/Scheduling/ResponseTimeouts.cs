using System.Collections.Concurrent;

namespace Actors.Runtime;

/// <summary>
/// Tracks unanswered calls and fails the ones past their deadline. One scan timer for all calls,
/// as Orleans does, instead of a timer per call; an answered call is removed at once.
/// </summary>
internal sealed class ResponseTimeouts : IDisposable
{
    private readonly ConcurrentDictionary<long, GrainRequest> _pending = new();
    private readonly Timer _scanner;
    private long _nextCorrelationId;

    public ResponseTimeouts(TimeSpan timeout)
    {
        Timeout = timeout;
        var scanPeriod = TimeSpan.FromMilliseconds(Math.Clamp(timeout.TotalMilliseconds / 10, 10, 1000));
        _scanner = new Timer(static state => ((ResponseTimeouts)state!).Scan(), this, scanPeriod, scanPeriod);
    }

    public TimeSpan Timeout { get; }

    public int PendingCount => _pending.Count;

    public void Track(GrainRequest request)
    {
        request.CorrelationId = Interlocked.Increment(ref _nextCorrelationId);
        request.DeadlineTicks = Environment.TickCount64 + (long)Timeout.TotalMilliseconds;
        request.Timeouts = this;
        _pending[request.CorrelationId] = request;
    }

    public void Untrack(GrainRequest request) => _pending.TryRemove(request.CorrelationId, out _);

    private void Scan()
    {
        var now = Environment.TickCount64;
        foreach (var (_, request) in _pending)
        {
            if (now >= request.DeadlineTicks)
            {
                request.TryFail(new TimeoutException(
                    $"{request.InterfaceName}.{request.MethodName} on {request.Target} did not answer within {Timeout}."));
            }
        }
    }

    public void Dispose() => _scanner.Dispose();
}
