using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>
/// One activation of one grain: its instance, its inbox and its turn-based scheduler.
/// It is also the activation's <see cref="SynchronizationContext"/>: every continuation of grain code
/// comes back through <see cref="Post"/> into the same inbox, and the inbox is drained by one thread-pool
/// work item at a time, so grain code never runs on two threads at once, even when requests interleave.
/// All fields below the inbox are touched only by that single drainer.
/// </summary>
internal sealed partial class ActivationData : SynchronizationContext, IThreadPoolWorkItem
{
    private const int MaxItemsPerTurnBatch = 128;

    private readonly ConcurrentQueue<WorkItem> _inbox = new();
    private int _scheduled;

    // Concurrent only so that the timeout scan can look at it; it is changed by the drainer alone.
    private readonly ConcurrentQueue<GrainRequest> _waiting = new();
    private int _running;
    private int _runningNotReadOnly;
    private bool _pumping;
    private bool _deactivateWhenIdle;
    private List<GrainRequest>? _answers;

    private readonly GrainRuntime _runtime;
    private readonly ILogger _logger;

    public ActivationData(GrainRuntime runtime, GrainTypeInfo typeInfo, GrainId grainId)
    {
        _runtime = runtime;
        TypeInfo = typeInfo;
        GrainId = grainId;
        _logger = runtime.ActivationLogger;
        LastActivityTicks = Environment.TickCount64;
    }

    public GrainId GrainId { get; }

    public GrainTypeInfo TypeInfo { get; }

    public Grain? Instance { get; private set; }

    public GrainRuntime Runtime => _runtime;

    /// <summary>Milliseconds (Environment.TickCount64) of the last request admitted; read racily by the collector.</summary>
    public long LastActivityTicks { get; private set; }

    public bool IsIdle => _running == 0 && _waiting.IsEmpty && _inbox.IsEmpty;

    /// <summary>Queues a request for this activation. Safe from any thread.</summary>
    public void Enqueue(GrainRequest request) => Enqueue(new WorkItem(null, request));

    /// <summary>Runs <paramref name="action"/> on this activation's scheduler. Safe from any thread.</summary>
    public void Schedule(Action action) => Enqueue(new WorkItem(RunAction, action));

    public override void Post(SendOrPostCallback d, object? state) => Enqueue(new WorkItem(d, state));

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("Synchronous sends would block the activation's turn.");

    public override SynchronizationContext CreateCopy() => this;

    private void Enqueue(WorkItem item)
    {
        _inbox.Enqueue(item);
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        var previous = Current;
        SetSynchronizationContext(this);
        try
        {
            for (var i = 0; i < MaxItemsPerTurnBatch && _inbox.TryDequeue(out var item); i++)
            {
                if (item.Callback is null)
                {
                    OnRequestArrived((GrainRequest)item.State!);
                }
                else
                {
                    RunCallback(item);
                }
            }
        }
        finally
        {
            SetSynchronizationContext(previous);
            // Begin leaves each turn's chain on the thread instead of restoring it (one ExecutionContext
            // change per request, not two); clear it once per batch before the thread goes back to the pool.
            if (CallChainNode.Current is not null)
            {
                CallChainNode.Current = null;
            }
        }

        // Taken before letting go: once the flag is clear another thread may drain this activation.
        var answers = _answers;
        _answers = null;

        // A full fence: the read of the inbox below must not move before the flag is cleared, or a sender
        // that saw the flag still set would not schedule us and its message would sit unprocessed.
        Interlocked.Exchange(ref _scheduled, 0);
        if (!_inbox.IsEmpty && Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }

        // Callers resume here, inline, on a thread this activation no longer holds: no extra thread-pool hop,
        // and a slow or blocking caller cannot hold up the grain's next turns.
        if (answers is not null)
        {
            foreach (var answered in answers)
            {
                answered.DeliverAnswer();
            }
        }
    }

    /// <summary>Queues an answer to be delivered when this batch of turns ends. Called on this activation's turn.</summary>
    internal void DeferAnswer(GrainRequest request) => (_answers ??= new List<GrainRequest>(8)).Add(request);

    private void RunCallback(WorkItem item)
    {
        try
        {
            item.Callback!(item.State);
        }
        catch (Exception exception)
        {
            // Continuations of async methods never throw here; a raw Post callback might. Keep the drainer alive.
            _logger.LogError(exception, "Unhandled exception in a callback of {GrainId}", GrainId);
        }
    }

    private static readonly SendOrPostCallback RunAction = static state => ((Action)state!)();

    private void OnRequestArrived(GrainRequest request)
    {
        if (request.IsAnswered)
        {
            return; // Timed out while queued: the caller has already been told.
        }

        switch (_phase)
        {
            case Phase.Created:
                _waiting.Enqueue(request);
                BeginActivation();
                return;
            case Phase.Invalid when request.IsBoundToActivation:
                request.TryFail(new ObjectDisposedException(GrainId.ToString(), "The activation was deactivated."));
                return;
            case Phase.Invalid:
                _runtime.Dispatch(request); // This activation is gone; the catalog makes a new one.
                return;
            case Phase.Valid when (_waiting.IsEmpty || Interleaves(request)) && CanAdmit(request):
                Begin(request);
                return;
            default:
                if (CallChainNode.FindWaiting(request.Chain, this) is not null)
                {
                    request.TryFail(new DeadlockException(CallChainNode.DescribeCycle(request.Chain!, this)));
                    return;
                }

                _waiting.Enqueue(request);
                return;
        }
    }

    private bool Interleaves(GrainRequest request) =>
        TypeInfo.IsReentrant || (request.Flags & RequestFlags.AlwaysInterleave) != 0;

    private bool CanAdmit(GrainRequest request)
    {
        if (_running == 0 || Interleaves(request))
        {
            return true;
        }

        return (request.Flags & RequestFlags.ReadOnly) != 0 && _runningNotReadOnly == 0;
    }

    private void Begin(GrainRequest request)
    {
        _running++;
        if ((request.Flags & RequestFlags.ReadOnly) == 0)
        {
            _runningNotReadOnly++;
        }

        if (request.CountsAsActivity)
        {
            LastActivityTicks = Environment.TickCount64;
        }

        // The chain flows with the ExecutionContext into every await, Task.Run and fire-and-forget call
        // the turn makes, so a call made from any of them names the turn that is waiting (or not) on it.
        CallChainNode.Current = new CallChainNode(this, request, request.Chain);
        _runningSynchronously = request;
        if (request.TraceParent is null)
        {
            request.Start(this, Instance!);
        }
        else
        {
            StartTraced(request);
        }

        _runningSynchronously = null;
    }

    private void StartTraced(GrainRequest request)
    {
        var previous = System.Diagnostics.Activity.Current;
        request.Span = RuntimeTelemetry.StartCall(request);
        try
        {
            request.Start(this, Instance!);
        }
        finally
        {
            System.Diagnostics.Activity.Current = previous;
        }
    }

    /// <summary>Called by a request on this activation's turn when its grain method has finished.</summary>
    internal void OnRequestFinished(GrainRequest request, Exception? error)
    {
        if (request.Span is { } span)
        {
            span.SetStatus(error is null ? System.Diagnostics.ActivityStatusCode.Ok : System.Diagnostics.ActivityStatusCode.Error, error?.Message);
            span.Stop();
            request.Span = null;
        }

        _running--;
        if ((request.Flags & RequestFlags.ReadOnly) == 0)
        {
            _runningNotReadOnly--;
        }

        request.Finished = true;
        if (error is InconsistentStateException)
        {
            MarkInconsistent();
        }

        if (_deactivateWhenIdle && _running == 0)
        {
            StartDeactivation(DeactivationReason.ApplicationRequested);
        }

        if (_phase == Phase.Deactivating)
        {
            TryFinishDeactivation();
        }
        else if (!_pumping)
        {
            PumpWaiting();
        }
    }

    private void PumpWaiting()
    {
        _pumping = true;
        try
        {
            while (_phase == Phase.Valid && _waiting.TryPeek(out var next))
            {
                if (next.IsAnswered)
                {
                    _waiting.TryDequeue(out _);
                    continue;
                }

                if (!CanAdmit(next))
                {
                    return;
                }

                _waiting.TryDequeue(out _);
                Begin(next);
            }
        }
        finally
        {
            _pumping = false;
        }
    }

    /// <summary>Asks for deactivation once the current requests are done (Grain.DeactivateOnIdle).</summary>
    internal void RequestDeactivateOnIdle()
    {
        _deactivateWhenIdle = true;
        if (_running == 0)
        {
            StartDeactivation(DeactivationReason.ApplicationRequested);
        }
    }

    private readonly record struct WorkItem(SendOrPostCallback? Callback, object? State);
}
