using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using System.Globalization;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Grains.Organizations;

/// <summary>
/// Counts an organization's usage against its plan in memory. Every change is written before the call returns (write on
/// change), so a restart or a move to another silo never resets a counter mid-period; refusals write nothing. Periods are
/// UTC days and calendar months: a daily reminder at midnight UTC starts new periods, and every call checks the period
/// too, so a late reminder never lets an old period's count leak into the new one.
/// </summary>
public sealed class OrganizationQuotaGrain(
    [PersistentState("organization-quota")] IPersistentState<OrganizationQuotaState> state,
    PlanOptions plans,
    TimeProvider clock) : Grain, IOrganizationQuotaGrain, IRemindable
{
    public const string PeriodReminder = "quota-period-boundary";

    /// <summary>Retry-After for a refused concurrent slot: when a running build ends is not known, so ask again soon.</summary>
    public static readonly TimeSpan ConcurrentSlotRetryAfter = TimeSpan.FromSeconds(30);

    /// <summary>Reservations remembered (today's, newest) so that one is returned, or reserved again, exactly once.</summary>
    public const int MaxReservations = 64;

    private bool _reminderRegistered;

    private OrganizationQuotaState Quota => state.State;

    private PlanLimits Limits => plans.For(Quota.Plan);

    private DateTimeOffset Now => clock.GetUtcNow();

    public async Task<QuotaLimitView> Count(string limit, long amount)
    {
        var counter = PeriodCounterFor(limit, amount);
        var maximum = Limits.Maximum(limit);
        if (maximum != QuotaLimits.Unlimited && counter.Used + amount > maximum) throw Refuse(limit, counter.Used, maximum);
        counter.Used += amount;
        var crossed = MarkCrossing(limit, counter, counter.Used - amount);
        await SaveAsync();
        await NotifyCrossingAsync(limit, crossed, counter.Used);
        return View(limit);
    }

    public async Task<QuotaLimitView> Record(string limit, long amount)
    {
        var counter = PeriodCounterFor(limit, amount);
        counter.Used += amount;
        var crossed = MarkCrossing(limit, counter, counter.Used - amount);
        await SaveAsync();
        await NotifyCrossingAsync(limit, crossed, counter.Used);
        return View(limit);
    }

    public async Task<QuotaLimitView> AcquireSlot(string limit, string holderId, string? alsoCount)
    {
        if (QuotaLimits.KindOf(limit) != QuotaKinds.Concurrent) throw new ArgumentException($"'{limit}' is not a concurrent limit.", nameof(limit));
        var holders = Holders(limit);
        if (holders.Contains(holderId)) return View(limit);
        var maximum = Limits.Maximum(limit);
        if (maximum != QuotaLimits.Unlimited && holders.Count >= maximum) throw Refuse(limit, holders.Count, maximum);

        // Checked before either changes, so a refusal of the second leaves the first untouched.
        PeriodCounter? counter = null;
        if (alsoCount is not null)
        {
            counter = PeriodCounterFor(alsoCount, 1);
            var countedMaximum = Limits.Maximum(alsoCount);
            if (countedMaximum != QuotaLimits.Unlimited && counter.Used + 1 > countedMaximum) throw Refuse(alsoCount, counter.Used, countedMaximum);
        }

        holders.Add(holderId);
        string? crossed = null;
        if (counter is not null && alsoCount is not null)
        {
            counter.Used++;
            crossed = MarkCrossing(alsoCount, counter, counter.Used - 1);
        }

        await SaveAsync();
        if (counter is not null && alsoCount is not null) await NotifyCrossingAsync(alsoCount, crossed, counter.Used);
        return View(limit);
    }

    public async Task Reserve(QuotaReservation reservation)
    {
        ArgumentNullException.ThrowIfNull(reservation);
        var day = QuotaPeriods.Start(QuotaKinds.PerDay, Now);
        if (Quota.Reservations.Any(r => r.Id == reservation.Id && r.PeriodStart == day)) return;
        // Every check before any change: a refusal of the last limit leaves the first ones where they were.
        var counters = new List<PeriodCounter>(reservation.Counts.Count);
        foreach (var limit in reservation.Counts)
        {
            if (QuotaLimits.KindOf(limit) != QuotaKinds.PerDay) throw new ArgumentException($"'{limit}' is not counted per day; a reservation counts daily limits.", nameof(reservation));
            var counter = PeriodCounterFor(limit, 1);
            var maximum = Limits.Maximum(limit);
            if (maximum != QuotaLimits.Unlimited && counter.Used + 1 > maximum) throw Refuse(limit, counter.Used, maximum);
            counters.Add(counter);
        }

        foreach (var limit in reservation.RoomIn) await EnsureRoomForOneMore(limit, 0);
        foreach (var counter in counters) counter.Used++;
        var crossings = counters.Select((counter, i) => (Limit: reservation.Counts[i], Type: MarkCrossing(reservation.Counts[i], counter, counter.Used - 1), counter.Used)).ToList();
        Quota.Reservations.Add(new QuotaReservationRecord { Id = reservation.Id, PeriodStart = day, Limits = [.. reservation.Counts] });
        // Only today's, and few: a reservation is returned within its creation, so the newest are the ones that matter.
        Quota.Reservations.RemoveAll(r => r.PeriodStart != day);
        if (Quota.Reservations.Count > MaxReservations) Quota.Reservations.RemoveRange(0, Quota.Reservations.Count - MaxReservations);
        await SaveAsync();
        // Deployments per day are only ever counted here, so this is where their 80 % and 100 % are crossed.
        foreach (var (limit, type, used) in crossings) await NotifyCrossingAsync(limit, type, used);
    }

    public async Task Return(string reservationId)
    {
        var day = QuotaPeriods.Start(QuotaKinds.PerDay, Now);
        var index = Quota.Reservations.FindIndex(r => r.Id == reservationId);
        if (index < 0) return;
        var taken = Quota.Reservations[index];
        Quota.Reservations.RemoveAt(index);
        // A reservation of an earlier day counted in a period that is over: nothing of today's to give back.
        if (taken.PeriodStart == day)
        {
            foreach (var limit in taken.Limits)
            {
                var counter = PeriodCounterFor(limit, 0);
                counter.Used = Math.Max(0, counter.Used - 1);
            }
        }

        await state.WriteStateAsync();
    }

    public async Task ReleaseSlot(string limit, string holderId)
    {
        if (Quota.Slots.TryGetValue(limit, out var holders) && holders.Remove(holderId)) await SaveAsync();
    }

    public Task EnsureRoomForOneMore(string limit, long current)
    {
        var maximum = Limits.Maximum(limit);
        var used = QuotaLimits.KindOf(limit) switch
        {
            QuotaKinds.Ceiling => current,
            QuotaKinds.Concurrent => Quota.Slots.TryGetValue(limit, out var holders) ? holders.Count : 0,
            _ => UsedThisPeriod(limit),
        };
        if (maximum != QuotaLimits.Unlimited && used + 1 > maximum) throw Refuse(limit, used, maximum);
        return Task.CompletedTask;
    }

    public Task EnsureRoomFor(string limit, long current, long amount)
    {
        if (QuotaLimits.KindOf(limit) != QuotaKinds.Ceiling) throw new ArgumentException($"'{limit}' is not a ceiling.", nameof(limit));
        if (amount < 0) throw new ArgumentOutOfRangeException(nameof(amount), "An amount is never negative.");
        var maximum = Limits.Maximum(limit);
        if (maximum == QuotaLimits.Unlimited || current + amount <= maximum) return Task.CompletedTask;
        if (limit != QuotaLimits.StorageBytes) throw Refuse(limit, current, maximum);
        var refusal = new QuotaRefusal(limit, current, maximum, null);
        var text = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"The {Quota.Plan} plan stores at most {maximum} bytes ({limit}); this organization stores {current} and this needs {amount} more.");
        throw new PlanLimitExceededException(refusal, text + " Delete deployments you no longer need (their files go after the grace period) or change the plan.");
    }

    public Task<QuotaUsageView> GetUsage() =>
        Task.FromResult(new QuotaUsageView(this.GetPrimaryKeyString(), Quota.Plan, [.. QuotaLimits.All.Select(View)]));

    /// <summary>
    /// The event for a threshold (80 % or 100 % of the plan's maximum) that this change to <paramref name="counter"/>
    /// passed and that was not reported yet this period, marked reported (written with the count); null if none. Each
    /// threshold is reported once a period: a reservation given back lowers the count, and passing 80 % again after
    /// that is not news. A refused attempt (which does not count) is not a crossing.
    /// </summary>
    private string? MarkCrossing(string limit, PeriodCounter counter, long before)
    {
        var maximum = Limits.Maximum(limit);
        if (maximum == QuotaLimits.Unlimited || maximum <= 0) return null;
        var reached = Threshold(counter.Used, maximum);
        if (reached <= Threshold(before, maximum) || reached <= counter.ReportedPercent) return null;
        counter.ReportedPercent = reached;
        return reached == 100 ? NotificationEventTypes.QuotaReached : NotificationEventTypes.QuotaNearLimit;
    }

    /// <summary>100 at or over the maximum, 80 at or over four fifths of it, else 0.</summary>
    private static int Threshold(long used, long maximum) => used >= maximum ? 100 : used * 5 >= maximum * 4 ? 80 : 0;

    /// <summary>Reports the crossing <see cref="MarkCrossing"/> found (after the count is written), if any.</summary>
    private async Task NotifyCrossingAsync(string limit, string? type, long after)
    {
        if (type is null) return;
        var maximum = Limits.Maximum(limit);
        var slug = this.GetPrimaryKeyString();
        var percent = after * 100 / maximum;
        await Notify.EventAsync(GrainFactory, clock, type, slug, null,
            $"{slug} has used {percent} % of its {Quota.Plan} plan's {limit}",
            [new("limit", limit), new("used", after.ToString(CultureInfo.InvariantCulture)), new("maximum", maximum.ToString(CultureInfo.InvariantCulture)),
             new("plan", Quota.Plan)]);
    }

    public async Task SetPlan(string plan)
    {
        if (!PlanNames.IsValid(plan)) throw new InvalidFieldException("plan", $"must be one of {string.Join(", ", PlanNames.All)}");
        if (Quota.Plan == plan) return;
        Quota.Plan = plan;
        // The thresholds are the new plan's: its 80 % and 100 % are reported when passed, whatever the old plan's were.
        foreach (var counter in Quota.Counters.Values) counter.ReportedPercent = 0;
        await state.WriteStateAsync();
    }

    /// <summary>At each midnight UTC: start the new day's (and on the 1st, the new month's) counters.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != PeriodReminder) return;
        var changed = false;
        foreach (var (limit, counter) in Quota.Counters)
        {
            var start = QuotaPeriods.Start(QuotaLimits.KindOf(limit), Now);
            if (counter.PeriodStart == start) continue;
            counter.PeriodStart = start;
            counter.Used = 0;
            counter.ReportedPercent = 0;
            changed = true;
        }

        if (changed) await state.WriteStateAsync();

        // A tick that came before midnight by this silo's clock (timers are not exact, silos' clocks differ) found the old
        // day: ask again at midnight rather than wait a whole day with yesterday's counts stored.
        var untilMidnight = QuotaPeriods.Start(QuotaKinds.PerDay, Now).AddDays(1) - Now;
        if (!changed && untilMidnight < EarlyTickWindow) await this.RegisterOrUpdateReminder(PeriodReminder, untilMidnight, TimeSpan.FromDays(1));
    }

    /// <summary>A period tick this close before midnight was meant for midnight.</summary>
    private static readonly TimeSpan EarlyTickWindow = TimeSpan.FromHours(1);

    /// <summary>The counter of the current period, started anew (in memory) when the stored one belongs to an earlier period.</summary>
    private PeriodCounter PeriodCounterFor(string limit, long amount)
    {
        var kind = QuotaLimits.KindOf(limit);
        if (kind is not (QuotaKinds.PerDay or QuotaKinds.PerMonth)) throw new ArgumentException($"'{limit}' is not counted per period.", nameof(limit));
        if (amount < 0) throw new ArgumentOutOfRangeException(nameof(amount), "Usage is never negative.");
        var start = QuotaPeriods.Start(kind, Now);
        if (!Quota.Counters.TryGetValue(limit, out var counter)) Quota.Counters[limit] = counter = new PeriodCounter { PeriodStart = start };
        if (counter.PeriodStart != start)
        {
            counter.PeriodStart = start;
            counter.Used = 0;
            counter.ReportedPercent = 0;
        }

        return counter;
    }

    private long UsedThisPeriod(string limit) =>
        Quota.Counters.TryGetValue(limit, out var counter) && counter.PeriodStart == QuotaPeriods.Start(QuotaLimits.KindOf(limit), Now) ? counter.Used : 0;

    private HashSet<string> Holders(string limit) =>
        Quota.Slots.TryGetValue(limit, out var holders) ? holders : Quota.Slots[limit] = new HashSet<string>(StringComparer.Ordinal);

    private async Task SaveAsync()
    {
        await state.WriteStateAsync();
        if (!_reminderRegistered)
        {
            // Once per activation that counts something; the reminder row lives on after it.
            var nextMidnight = QuotaPeriods.Start(QuotaKinds.PerDay, Now).AddDays(1);
            await this.RegisterOrUpdateReminder(PeriodReminder, nextMidnight - Now, TimeSpan.FromDays(1));
            _reminderRegistered = true;
        }
    }

    private QuotaLimitView View(string limit)
    {
        var kind = QuotaLimits.KindOf(limit);
        var current = kind switch
        {
            QuotaKinds.Concurrent => Quota.Slots.TryGetValue(limit, out var holders) ? holders.Count : 0,
            QuotaKinds.Ceiling => 0,
            _ => UsedThisPeriod(limit),
        };
        return new QuotaLimitView(limit, kind, current, Limits.Maximum(limit), QuotaPeriods.ResetsAt(kind, Now));
    }

    private Exception Refuse(string limit, long current, long maximum)
    {
        var kind = QuotaLimits.KindOf(limit);
        var refusal = new QuotaRefusal(limit, current, maximum, QuotaPeriods.ResetsAt(kind, Now));
        CloudDeckMetrics.QuotaRefused(limit);
        var plan = Quota.Plan;
        return kind switch
        {
            QuotaKinds.PerDay => new RateLimitExceededException(refusal,
                $"The {plan} plan allows {maximum} {limit} and today's are used; more after midnight UTC."),
            QuotaKinds.Concurrent => new RateLimitExceededException(refusal,
                $"The {plan} plan allows {maximum} {limit} at once; try again when one finishes."),
            _ => new PlanLimitExceededException(refusal, $"The {plan} plan allows {maximum} {limit}; change the plan for more."),
        };
    }
}

/// <summary>UTC days and calendar months.</summary>
public static class QuotaPeriods
{
    public static DateTimeOffset Start(string kind, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        return kind switch
        {
            QuotaKinds.PerDay => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            QuotaKinds.PerMonth => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => DateTimeOffset.MinValue,
        };
    }

    public static DateTimeOffset? ResetsAt(string kind, DateTimeOffset now) => kind switch
    {
        QuotaKinds.PerDay => Start(kind, now).AddDays(1),
        QuotaKinds.PerMonth => Start(kind, now).AddMonths(1),
        _ => null,
    };
}

public sealed class OrganizationQuotaState
{
    public string Plan { get; set; } = PlanNames.Default;

    /// <summary>Per-period counters by limit.</summary>
    public Dictionary<string, PeriodCounter> Counters { get; set; } = [];

    /// <summary>Holders (build ids) of concurrent slots, by limit.</summary>
    public Dictionary<string, HashSet<string>> Slots { get; set; } = [];

    /// <summary>Today's newest reservations (at most <see cref="OrganizationQuotaGrain.MaxReservations"/>), oldest first.</summary>
    public List<QuotaReservationRecord> Reservations { get; set; } = [];
}

public sealed class QuotaReservationRecord
{
    public string Id { get; set; } = "";

    public DateTimeOffset PeriodStart { get; set; }

    /// <summary>The daily limits it counted one of.</summary>
    public List<string> Limits { get; set; } = [];
}

public sealed class PeriodCounter
{
    public DateTimeOffset PeriodStart { get; set; }

    public long Used { get; set; }

    /// <summary>The highest threshold (80 or 100 %) reported as an event this period; 0 for none.</summary>
    public int ReportedPercent { get; set; }
}
