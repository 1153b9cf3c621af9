namespace Actors.Runtime;

/// <summary>
/// Where an unanswered request can be: in the inbox, waiting for a turn, or running past an await.
/// The timeout scan looks in those three places, so a call costs no bookkeeping of its own: only the
/// requests that go asynchronous are listed, and only while they run.
/// </summary>
internal sealed partial class ActivationData
{
    private readonly List<GrainRequest> _runningAsync = [];
    private readonly Lock _runningAsyncLock = new();
    private volatile int _runningAsyncCount;

    internal void TrackRunning(GrainRequest request)
    {
        lock (_runningAsyncLock)
        {
            _runningAsync.Add(request);
            _runningAsyncCount = _runningAsync.Count;
        }
    }

    internal void UntrackRunning(GrainRequest request)
    {
        lock (_runningAsyncLock)
        {
            _runningAsync.Remove(request);
            _runningAsyncCount = _runningAsync.Count;
        }
    }

    /// <summary>Fails every request of this activation whose deadline has passed. Safe from any thread.</summary>
    internal void FailExpired(long nowTicks, TimeSpan timeout)
    {
        if (_inbox.IsEmpty && _waiting.IsEmpty && _runningAsyncCount == 0)
        {
            return;
        }

        foreach (var item in _inbox)
        {
            if (item.Callback is null && item.State is GrainRequest request)
            {
                FailIfExpired(request, nowTicks, timeout);
            }
        }

        foreach (var request in _waiting)
        {
            FailIfExpired(request, nowTicks, timeout);
        }

        GrainRequest[] running;
        lock (_runningAsyncLock)
        {
            running = [.. _runningAsync];
        }

        foreach (var request in running)
        {
            FailIfExpired(request, nowTicks, timeout);
        }
    }

    private static void FailIfExpired(GrainRequest request, long nowTicks, TimeSpan timeout)
    {
        if (nowTicks >= request.DeadlineTicks && !request.IsAnswered)
        {
            request.TryFail(new TimeoutException(
                $"{request.InterfaceName}.{request.MethodName} on {request.Target} did not answer within {timeout}."));
        }
    }
}
