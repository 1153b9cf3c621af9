namespace Actors.Runtime;

/// <summary>
/// Base class of grain implementations. The runtime creates instances; a grain's constructor may take
/// services and <see cref="IPersistentState{T}"/> parameters marked with <see cref="PersistentStateAttribute"/>.
/// </summary>
public abstract class Grain : IAddressable
{
    [ThreadStatic]
    private static ActivationData? t_constructing;

    private readonly ActivationData _activation;

    protected Grain()
    {
        _activation = t_constructing
            ?? throw new InvalidOperationException("Grains are created by the runtime; use IGrainFactory.GetGrain to call one.");
    }

    internal ActivationData Activation => _activation;

    public GrainId GrainId => _activation.GrainId;

    public IGrainFactory GrainFactory => _activation.Runtime;

    public string GetPrimaryKeyString() => GrainId.Key;

    public Guid GetPrimaryKey() => GrainId.GetGuidKey();

    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runtime grains (streams) release long waits here, so that deactivation need not wait for them.</summary>
    internal virtual void OnDeactivationStarted()
    {
    }

    /// <summary>Deactivate this activation once the current request (and any running ones) are done.</summary>
    protected void DeactivateOnIdle() => _activation.RequestDeactivateOnIdle();

    /// <summary>
    /// A timer that lives and dies with this activation. Ticks take a turn like requests do, and the next
    /// tick is scheduled only after the previous one finished, so ticks never overlap.
    /// </summary>
    protected IDisposable RegisterGrainTimer(
        Func<CancellationToken, Task> callback, TimeSpan dueTime, TimeSpan period, GrainTimerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new GrainTimer(_activation, callback, dueTime, period, options ?? new GrainTimerOptions());
        try
        {
            _activation.AddTimer(timer);
        }
        catch
        {
            timer.Dispose();
            throw;
        }

        timer.Start();
        return timer;
    }

    /// <summary>Registers or updates a durable reminder. The grain must implement <see cref="IRemindable"/>.</summary>
    protected Task<GrainReminder> RegisterOrUpdateReminder(string reminderName, TimeSpan dueTime, TimeSpan period)
    {
        if (this is not IRemindable)
        {
            throw new InvalidOperationException($"{GetType().Name} must implement IRemindable to register reminders.");
        }

        return _activation.Runtime.Reminders.RegisterOrUpdateAsync(GrainId, reminderName, dueTime, period);
    }

    protected Task UnregisterReminder(string reminderName) =>
        _activation.Runtime.Reminders.UnregisterAsync(GrainId, reminderName);

    protected Task<GrainReminder?> GetReminder(string reminderName) =>
        _activation.Runtime.Reminders.GetAsync(GrainId, reminderName);

    protected Task<IReadOnlyList<GrainReminder>> GetReminders() =>
        _activation.Runtime.Reminders.GetAllAsync(GrainId);

    internal static TGrain Construct<TGrain>(ActivationData activation, Func<TGrain> construct)
    {
        var previous = t_constructing;
        t_constructing = activation;
        try
        {
            return construct();
        }
        finally
        {
            t_constructing = previous;
        }
    }
}

public sealed record GrainTimerOptions
{
    /// <summary>Ticks interleave with requests instead of waiting for a free turn.</summary>
    public bool Interleave { get; init; }

    /// <summary>Ticks count as activity, so the activation is not collected while the timer runs.</summary>
    public bool KeepAlive { get; init; }
}

/// <summary>A durable reminder as stored.</summary>
public sealed record GrainReminder(GrainId GrainId, string Name, DateTimeOffset StartAt, TimeSpan Period, string Etag);
