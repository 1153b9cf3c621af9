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

    // The request whose grain method is executing right now, before it returned its first task:
    // a turn stuck in synchronous code must time out too.
    private volatile GrainRequest? _runningSynchronously;

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

    /// <summary>Whether a request with this chain key is running here, awaiting a call it made. Safe from any thread.</summary>
    internal bool IsRunning(string chainKey)
    {
        if (_runningAsyncCount == 0)
        {
            return false;
        }

        lock (_runningAsyncLock)
        {
            foreach (var request in _runningAsync)
            {
                if (!request.Finished && request.ChainKey == chainKey)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Fails every request of this activation whose deadline has passed. Safe from any thread.</summary>
    internal void FailExpired(long nowTicks, TimeSpan timeout) =>
        FailPending(request => nowTicks >= request.DeadlineTicks
            ? new TimeoutException($"{request.InterfaceName}.{request.MethodName} on {request.Target} did not answer within {timeout}.")
            : null);

    /// <summary>
    /// Fails the unanswered requests for which <paramref name="failure"/> gives an exception. Requests bound to the
    /// activation (timer ticks) have no caller waiting and are left alone. Safe from any thread.
    /// </summary>
    internal void FailPending(Func<GrainRequest, Exception?> failure)
    {
        if (_inbox.IsEmpty && _waiting.IsEmpty && _runningAsyncCount == 0 && _runningSynchronously is null)
        {
            return;
        }

        if (_runningSynchronously is { } executing)
        {
            FailIf(executing, failure);
        }

        foreach (var item in _inbox)
        {
            if (item.Callback is null && item.State is GrainRequest request)
            {
                FailIf(request, failure);
            }
        }

        foreach (var request in _waiting)
        {
            FailIf(request, failure);
        }

        GrainRequest[] running;
        lock (_runningAsyncLock)
        {
            running = [.. _runningAsync];
        }

        foreach (var request in running)
        {
            FailIf(request, failure);
        }
    }

    private static void FailIf(GrainRequest request, Func<GrainRequest, Exception?> failure)
    {
        if (!request.IsBoundToActivation && !request.IsAnswered && failure(request) is { } exception)
        {
            request.TryFail(exception);
        }
    }
}
