using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>
/// A per-activation timer. Each tick is queued to the activation as a request so it takes a turn;
/// the underlying timer is one-shot and re-armed when the tick has finished, so ticks never overlap.
/// </summary>
internal sealed class GrainTimer : IDisposable
{
    private readonly ActivationData _activation;
    private readonly Func<CancellationToken, Task> _callback;
    private readonly TimeSpan _dueTime;
    private readonly TimeSpan _period;
    private readonly GrainTimerOptions _options;
    private readonly Timer _timer;
    private readonly CancellationTokenSource _disposed = new();

    public GrainTimer(ActivationData activation, Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, GrainTimerOptions options)
    {
        if (dueTime < TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(dueTime), "The due time must not be negative.");
        }

        _activation = activation;
        _callback = callback;
        _dueTime = dueTime;
        _period = period;
        _options = options;
        _timer = new Timer(static state => ((GrainTimer)state!).OnTimerFired(), this, Timeout.Infinite, Timeout.Infinite);
    }

    public void Start() => _timer.Change(_dueTime, Timeout.InfiniteTimeSpan);

    private void OnTimerFired()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        if (_activation.Runtime.IsStopped)
        {
            // The silo is gone (or was abandoned by a test host): its timers must not tick on.
            _disposed.Cancel();
            _timer.Dispose();
            return;
        }

        var tick = new TimerTickRequest(this);
        tick.Target = _activation.GrainId;
        tick.PrepareAnswer().ContinueWith(static (done, state) => ((GrainTimer)state!).OnTickFinished(done), this, TaskScheduler.Default);
        _activation.Enqueue(tick);
    }

    private void OnTickFinished(Task done)
    {
        if (done.Exception is { } error)
        {
            _activation.Runtime.ActivationLogger.LogError(error.GetBaseException(), "A timer of {GrainId} failed", _activation.GrainId);
        }

        if (_disposed.IsCancellationRequested || _period == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        try
        {
            _timer.Change(_period, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the check and the change: nothing to re-arm.
        }
    }

    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        _disposed.Cancel();
        _timer.Dispose();
        if (SynchronizationContext.Current == _activation)
        {
            _activation.RemoveTimer(this);
        }
        else
        {
            _activation.Schedule(() => _activation.RemoveTimer(this));
        }
    }

    private sealed class TimerTickRequest(GrainTimer timer) : GrainRequest<VoidResult>
    {
        public override string InterfaceName => "timer";

        public override string MethodName => "tick";

        public override RequestFlags Flags => timer._options.Interleave ? RequestFlags.AlwaysInterleave : RequestFlags.None;

        internal override bool CountsAsActivity => timer._options.KeepAlive;

        internal override bool IsBoundToActivation => true;

        public override ValueTask<VoidResult> InvokeAsync(object grain) =>
            timer._disposed.IsCancellationRequested ? default : FromTask(timer._callback(timer._disposed.Token));
    }
}
