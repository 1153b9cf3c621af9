using System.ComponentModel;

namespace Actors.Runtime;

[Flags]
public enum RequestFlags
{
    None = 0,
    ReadOnly = 1,
    AlwaysInterleave = 2,
    OneWay = 4,
}

/// <summary>
/// One call to one grain method: generated subclasses carry the arguments and know how to invoke
/// the method on a grain instance. The base keeps the runtime's per-call bookkeeping, so a call
/// allocates this object and its completion, and nothing else on the fast path.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class GrainRequest
{
    public abstract string InterfaceName { get; }

    public abstract string MethodName { get; }

    public virtual RequestFlags Flags => RequestFlags.None;

    internal GrainId Target;
    internal CallChainNode? Chain;
    internal long DeadlineTicks;

    /// <summary>Remote calls: how often the request was forwarded, the caller's trace context, and where it went.</summary>
    internal int Hops;
    internal string? TraceParent;
    internal SiloAddress? SentTo;

    /// <summary>Arrived from another process: if this silo cannot run it, it is rejected, not failed.</summary>
    internal bool IsInbound;

    private static readonly string ProcessKey = Guid.NewGuid().ToString("N")[..12];
    private static long s_nextChainKey;
    private string? _chainKey;

    /// <summary>Names this request in call chains sent to other processes; made when first needed.</summary>
    internal string ChainKey => _chainKey ??= $"{ProcessKey}:{Interlocked.Increment(ref s_nextChainKey)}";

    /// <summary>The span of this call while it runs, when tracing listens.</summary>
    internal System.Diagnostics.Activity? Span;

    /// <summary>Set by the activation when the grain method's task has finished (not when the caller was answered).</summary>
    internal volatile bool Finished;

    /// <summary>Ticks of a grain timer do not count as activity unless the timer asks to keep the grain alive.</summary>
    internal virtual bool CountsAsActivity => true;

    /// <summary>Requests that belong to one activation (timer ticks) die with it instead of following the grain.</summary>
    internal virtual bool IsBoundToActivation => false;

    internal abstract bool IsAnswered { get; }

    /// <summary>Completes the caller's task with the answer already decided. Runs on a thread the callee does not need.</summary>
    internal abstract void DeliverAnswer();

    /// <summary>Runs the request on the activation's turn. Completion is reported to <paramref name="activation"/>.</summary>
    internal abstract void Start(ActivationData activation, object grain);

    internal abstract bool TryFail(Exception exception);

    /// <summary>For a request that arrived over the wire: the task whose outcome is sent back.</summary>
    internal abstract Task PrepareAnswerForRemote();

    internal abstract byte[] SerializeAnswer(Task answered, System.Text.Json.JsonSerializerOptions options);

    /// <summary>For a request sent over the wire: the answer that came back.</summary>
    internal abstract void AnswerFromWire(ReadOnlyMemory<byte> body, System.Text.Json.JsonSerializerOptions options);

    public override string ToString() => $"{InterfaceName}.{MethodName} on {Target}";

    /// <summary>Adapts a Task-returning grain method without allocating when it completed synchronously.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static ValueTask<VoidResult> FromTask(Task task) =>
        task.IsCompletedSuccessfully ? default : new ValueTask<VoidResult>(AwaitVoid(task));

    [EditorBrowsable(EditorBrowsableState.Never)]
    public static ValueTask<VoidResult> FromValueTask(ValueTask task) =>
        task.IsCompletedSuccessfully ? default : new ValueTask<VoidResult>(AwaitVoid(task.AsTask()));

    private static async Task<VoidResult> AwaitVoid(Task task)
    {
        await task.ConfigureAwait(true);
        return default;
    }
}

/// <summary>A request whose grain method produces <typeparamref name="TResult"/>.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class GrainRequest<TResult> : GrainRequest
{
    // Created when the request is sent, not with the request, so that invoking a request directly costs nothing more.
    private TaskCompletionSource<TResult>? _completion;
    private ValueTask<TResult> _pending;
    private ActivationData? _activation;

    // Who answers is decided once (the turn, a timeout, a failure); the caller's task is completed afterwards.
    private int _answered;
    private TResult? _result;
    private Exception? _error;

    internal override bool IsAnswered => Volatile.Read(ref _answered) != 0;

    /// <summary>Makes the task the caller awaits. Called once, by whoever sends the request.</summary>
    internal Task<TResult> PrepareAnswer()
    {
        // Continuations run inline when the answer is delivered, which is never on a thread that holds an activation.
        _completion = new TaskCompletionSource<TResult>();
        return _completion.Task;
    }

    public abstract ValueTask<TResult> InvokeAsync(object grain);

    internal override void Start(ActivationData activation, object grain)
    {
        ValueTask<TResult> pending;
        try
        {
            pending = InvokeAsync(grain);
        }
        catch (Exception exception)
        {
            Answer(activation, default, exception);
            activation.OnRequestFinished(this, exception);
            return;
        }

        if (pending.IsCompleted)
        {
            Complete(activation, pending);
            return;
        }

        _pending = pending;
        _activation = activation;
        activation.TrackRunning(this);
        // The continuation is posted to the activation's synchronization context (current here),
        // so completion is observed on the activation's turn.
        pending.GetAwaiter().UnsafeOnCompleted(OnPendingCompleted);
    }

    private void OnPendingCompleted()
    {
        var activation = _activation!;
        var pending = _pending;
        _activation = null;
        _pending = default;
        activation.UntrackRunning(this);
        Complete(activation, pending);
    }

    private void Complete(ActivationData activation, ValueTask<TResult> finished)
    {
        TResult? result = default;
        Exception? error = null;
        try
        {
            result = finished.Result;
        }
        catch (Exception exception)
        {
            error = exception;
        }

        Answer(activation, result, error);
        activation.OnRequestFinished(this, error);
    }

    /// <summary>
    /// Fails the request from any thread (timeouts, deadlocks, shutdown). The caller's task is completed on the
    /// thread pool, so its continuation never runs on a timer's or an activation's thread.
    /// </summary>
    internal override bool TryFail(Exception exception)
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0)
        {
            return false;
        }

        _error = exception;
        ThreadPool.UnsafeQueueUserWorkItem(static request => request.DeliverAnswer(), this, preferLocal: false);
        return true;
    }

    internal override Task PrepareAnswerForRemote() => PrepareAnswer();

    internal override byte[] SerializeAnswer(Task answered, System.Text.Json.JsonSerializerOptions options) =>
        System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(((Task<TResult>)answered).Result, options);

    internal override void AnswerFromWire(ReadOnlyMemory<byte> body, System.Text.Json.JsonSerializerOptions options)
    {
        TResult? result;
        try
        {
            result = System.Text.Json.JsonSerializer.Deserialize<TResult>(body.Span, options);
        }
        catch (Exception exception)
        {
            TryFail(exception);
            return;
        }

        if (Interlocked.Exchange(ref _answered, 1) != 0)
        {
            return;
        }

        _result = result;
        // Off the connection's read loop: the caller's continuation must not stall the reading of other answers.
        ThreadPool.UnsafeQueueUserWorkItem(static request => request.DeliverAnswer(), this, preferLocal: true);
    }

    /// <summary>The turn's answer: handed to the activation, which delivers it once it has let go of its thread.</summary>
    private void Answer(ActivationData activation, TResult? result, Exception? error)
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0)
        {
            return;
        }

        _result = result;
        _error = error;
        activation.DeferAnswer(this);
    }

    internal override void DeliverAnswer()
    {
        if (_completion is null)
        {
            return;
        }

        if (_error is null)
        {
            _completion.TrySetResult(_result!);
        }
        else
        {
            _completion.TrySetException(_error);
        }
    }
}
