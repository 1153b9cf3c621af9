using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>
/// Fires durable reminders. Rows live in the reminder table; this silo loads them on start and keeps one
/// one-shot timer per reminder. A tick calls <see cref="IRemindable.ReceiveReminder"/> through the runtime,
/// activating the grain if needed. Ticks are at start + k × period; a tick missed while no silo ran is not
/// replayed, the next one fires (as in Orleans), so handlers must be idempotent.
/// </summary>
internal sealed class ReminderService(GrainRuntime runtime, IReminderTable? table, ReminderOptions options, ILogger<ReminderService> logger)
    : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(GrainId, string), ScheduledReminder> _scheduled = new();
    private volatile bool _stopped;

    private string ServiceId => runtime.Options.ServiceId;

    public int ScheduledCount => _scheduled.Count;

    /// <summary>False when the silo has no reminder table: reminders cannot be registered.</summary>
    internal bool IsAvailable => table is not null;

    /// <summary>In a cluster, whether this silo owns the grain and so fires its reminders.</summary>
    public Func<GrainId, bool> IsOwned { get; set; } = _ => true;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshOwnershipAsync(cancellationToken);
        logger.LogInformation("Loaded {Count} reminders", _scheduled.Count);
    }

    /// <summary>Schedules the reminders of the grains this silo owns, and drops the others (after a view change).</summary>
    public async Task RefreshOwnershipAsync(CancellationToken cancellationToken = default)
    {
        if (table is null || _stopped)
        {
            return;
        }

        var rows = await table.ReadAllAsync(ServiceId, cancellationToken);
        foreach (var reminder in rows.Where(r => IsOwned(r.GrainId)))
        {
            if (!_scheduled.TryGetValue((reminder.GrainId, reminder.Name), out var existing) || existing.Reminder.Etag != reminder.Etag)
            {
                Schedule(reminder);
            }
        }

        var owned = rows.Where(r => IsOwned(r.GrainId)).Select(r => (r.GrainId, r.Name)).ToHashSet();
        foreach (var (key, scheduled) in _scheduled)
        {
            if (!owned.Contains(key) && _scheduled.TryRemove(key, out _))
            {
                scheduled.Dispose();
            }
        }
    }

    public async Task<GrainReminder> RegisterOrUpdateAsync(GrainId grainId, string name, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (period < options.MinimumPeriod)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period,
                $"A reminder period must be at least {options.MinimumPeriod} (ReminderOptions.MinimumPeriod).");
        }

        if (dueTime < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(dueTime), dueTime, "A reminder's due time must not be negative.");
        }

        var reminder = await RequireTable().UpsertAsync(ServiceId, grainId, name, DateTimeOffset.UtcNow + dueTime, period, CancellationToken.None);
        Schedule(reminder);
        return reminder;
    }

    public async Task UnregisterAsync(GrainId grainId, string name)
    {
        await RequireTable().RemoveAsync(ServiceId, grainId, name, CancellationToken.None);
        if (_scheduled.TryRemove((grainId, name), out var scheduled))
        {
            scheduled.Dispose();
        }
    }

    public async Task<GrainReminder?> GetAsync(GrainId grainId, string name) =>
        (await GetAllAsync(grainId)).FirstOrDefault(r => r.Name == name);

    public Task<IReadOnlyList<GrainReminder>> GetAllAsync(GrainId grainId) =>
        RequireTable().ReadGrainAsync(ServiceId, grainId, CancellationToken.None);

    private IReminderTable RequireTable() => table
        ?? throw new InvalidOperationException("No reminder table is configured; call UseSqliteReminders or UsePostgresReminders on the silo.");

    private void Schedule(GrainReminder reminder)
    {
        if (_stopped)
        {
            return;
        }

        var scheduled = new ScheduledReminder(this, reminder);
        _scheduled.AddOrUpdate((reminder.GrainId, reminder.Name), scheduled, (_, previous) =>
        {
            previous.Dispose();
            return scheduled;
        });
        scheduled.ArmNext();
    }

    private void Fire(ScheduledReminder scheduled, DateTimeOffset tickTime)
    {
        var reminder = scheduled.Reminder;
        var request = new ReceiveReminderRequest(reminder.Name, new TickStatus(reminder.StartAt, reminder.Period, tickTime));
        runtime.Invoke(reminder.GrainId, request).ContinueWith(
            done => logger.LogWarning(done.Exception!.GetBaseException(), "Reminder {Name} of {GrainId} failed", reminder.Name, reminder.GrainId),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    public ValueTask DisposeAsync()
    {
        _stopped = true;
        foreach (var (_, scheduled) in _scheduled)
        {
            scheduled.Dispose();
        }

        _scheduled.Clear();
        return ValueTask.CompletedTask;
    }

    private sealed class ScheduledReminder : IDisposable
    {
        private readonly ReminderService service;
        private readonly Timer _timer;
        private readonly Lock _lock = new();
        private DateTimeOffset _nextTick;
        private bool _disposed;

        public ScheduledReminder(ReminderService service, GrainReminder reminder)
        {
            this.service = service;
            Reminder = reminder;
            _timer = new Timer(static state => ((ScheduledReminder)state!).OnTimer(), this, Timeout.Infinite, Timeout.Infinite);
        }

        public GrainReminder Reminder { get; }

        public void ArmNext()
        {
            var now = DateTimeOffset.UtcNow;
            _nextTick = FirstTickAtOrAfter(now);
            lock (_lock)
            {
                if (!_disposed)
                {
                    _timer.Change(Clamp(_nextTick - now), Timeout.InfiniteTimeSpan);
                }
            }
        }

        private void OnTimer()
        {
            // Timers may fire a little early; the tick still counts as the scheduled one.
            var tick = _nextTick;
            if (service._stopped || _disposed)
            {
                return;
            }

            service.Fire(this, tick);
            // After a stall (a paused process, a starved pool) skip the missed ticks instead of firing them back to back.
            var following = FirstTickAtOrAfter(DateTimeOffset.UtcNow);
            _nextTick = following > tick ? following : tick + Reminder.Period;
            lock (_lock)
            {
                if (!_disposed)
                {
                    _timer.Change(Clamp(_nextTick - DateTimeOffset.UtcNow), Timeout.InfiniteTimeSpan);
                }
            }
        }

        private DateTimeOffset FirstTickAtOrAfter(DateTimeOffset time)
        {
            if (time <= Reminder.StartAt)
            {
                return Reminder.StartAt;
            }

            var periods = Math.Ceiling((time - Reminder.StartAt) / Reminder.Period);
            return Reminder.StartAt + (Reminder.Period * periods);
        }

        private static TimeSpan Clamp(TimeSpan delay) => delay < TimeSpan.Zero ? TimeSpan.Zero : delay;

        public void Dispose()
        {
            lock (_lock)
            {
                _disposed = true;
                _timer.Dispose();
            }
        }
    }

    private sealed class ReceiveReminderRequest(string name, TickStatus status) : GrainRequest<VoidResult>
    {
        public override string InterfaceName => nameof(IRemindable);

        public override string MethodName => nameof(IRemindable.ReceiveReminder);

        public override ValueTask<VoidResult> InvokeAsync(object grain) => grain is IRemindable remindable
            ? FromTask(remindable.ReceiveReminder(name, status))
            : throw new InvalidOperationException($"{grain.GetType().Name} has a reminder '{name}' but does not implement IRemindable.");
    }
}
