using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Usage;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Usage;

/// <summary>
/// Consumes an organization's usage stream (implicitly subscribed, keyed by the org slug): at least once and in order, so
/// items at or before <see cref="UsageMeterState.LastAppliedSequence"/> are redeliveries and skipped, and an event id
/// already counted in its period (an SDK retry, or a producer's) is counted once. One state write per delivered batch.
/// </summary>
[ImplicitLogConsumer(UsageStreams.Namespace)]
public sealed partial class UsageMeterGrain(
    [PersistentState("usage-meter")] IPersistentState<UsageMeterState> state,
    UsageOptions options,
    TimeProvider clock,
    ILogger<UsageMeterGrain> logger) : Grain, IUsageMeterGrain, ILogConsumer<UsageEvent>
{
    // The id window of each period touched in this activation, loaded from the stored hashes on first touch.
    private readonly Dictionary<string, UsageIdWindow> _idsByPeriod = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changedPeriods = new(StringComparer.Ordinal);

    // Applied in memory but not yet stored: written on graceful deactivation (a SIGTERM hands the meter off with it).
    private bool _unwritten;

    private UsageMeterState Meter => state.State;

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (!_unwritten) return;
        try
        {
            await state.WriteStateAsync(cancellationToken);
            _unwritten = false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The stream delivers the batch again to the next activation, which counts it once from the stored cursor.
            LogUnwrittenMeterLost(logger, e, Slug);
        }
    }

    private string Slug => this.GetPrimaryKeyString();

    public async Task OnNextBatchAsync(LogStreamId stream, IReadOnlyList<LogItem<UsageEvent>> items)
    {
        var applied = false;
        foreach (var item in items)
        {
            if (item.Position.SequenceNumber <= Meter.LastAppliedSequence) continue; // delivered again after a crash
            Apply(item.Item);
            Meter.LastAppliedSequence = item.Position.SequenceNumber;
            applied = true;
        }

        if (!applied) return;
        DropOldPeriods();
        foreach (var period in _changedPeriods)
        {
            if (Meter.Periods.TryGetValue(period, out var changed)) changed.RecentIdHashes = _idsByPeriod[period].ToBytes();
        }

        _changedPeriods.Clear();
        // Totals, ids and the last applied position in one write: after a crash either all of this batch counts or none.
        _unwritten = true;
        try
        {
            await state.WriteStateAsync();
            _unwritten = false;
        }
        catch (Exception)
        {
            // Memory is now ahead of storage, and the stream will deliver the batch again: leave, so that it meets the
            // stored state (deactivation writes this state if it still can, which also counts the batch exactly once).
            _idsByPeriod.Clear();
            _changedPeriods.Clear();
            DeactivateOnIdle();
            throw;
        }
    }

    public async Task<UsageReport> Get(Caller caller, string period)
    {
        await GrainFactory.GetGrain<IOrganizationGrain>(Slug).Authorize(caller, OrganizationActions.ViewUsage);
        return await Report(period);
    }

    public Task<UsageReport> Report(string period)
    {
        if (!BillingPeriods.TryParse(period, out var start)) throw new InvalidFieldException("period", "must be a month such as 2026-11 (YYYY-MM, years 2000 to 9998)");
        var now = clock.GetUtcNow();
        var end = start.AddMonths(1);
        var lastDay = now < end ? now : end.AddDays(-1);
        Meter.Periods.TryGetValue(period, out var usage);
        var days = new List<UsageDay>();
        for (var day = start; day <= lastDay; day = day.AddDays(1))
        {
            var date = BillingPeriods.DayOf(day);
            IReadOnlyDictionary<string, long> totals = usage?.Days.GetValueOrDefault(date) is { } found
                ? new SortedDictionary<string, long>(found, StringComparer.Ordinal)
                : new Dictionary<string, long>();
            days.Add(new UsageDay(date, totals));
        }

        var periodTotals = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var kind in UsageKinds.BuiltIn) periodTotals[kind] = 0;
        foreach (var (kind, total) in usage?.Totals ?? []) periodTotals[kind] = total;
        return Task.FromResult(new UsageReport(Slug, period, periodTotals, days, usage?.Events ?? 0, usage?.DuplicatesIgnored ?? 0));
    }

    public Task<UsageTotalsSnapshot> Totals() => Task.FromResult(new UsageTotalsSnapshot(Meter.LastAppliedSequence,
        Meter.Periods.ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, long>)new Dictionary<string, long>(p.Value.Totals, StringComparer.Ordinal), StringComparer.Ordinal)));

    private void Apply(UsageEvent usage)
    {
        var period = BillingPeriods.Of(usage.Time);
        if (!Meter.Periods.TryGetValue(period, out var counted))
        {
            Meter.Periods[period] = counted = new UsagePeriodState();
        }

        if (!IdsOf(period, counted).Add(usage.Id, options.IdempotencyIdsPerPeriod))
        {
            counted.DuplicatesIgnored++;
            return;
        }

        _changedPeriods.Add(period);

        if (!counted.Totals.ContainsKey(usage.Kind) && counted.Totals.Count >= options.MaxKindsPerPeriod)
        {
            if (counted.DroppedForTooManyKinds++ % 1000 == 0)
            {
                logger.LogWarning("Usage of {Organization} in {Period}: more than {Max} kinds; events of kind {Kind} are not counted",
                    Slug, period, options.MaxKindsPerPeriod, usage.Kind);
            }

            return;
        }

        counted.Events++;
        counted.Totals[usage.Kind] = counted.Totals.GetValueOrDefault(usage.Kind) + usage.Quantity;
        var date = BillingPeriods.DayOf(usage.Time);
        if (!counted.Days.TryGetValue(date, out var day)) counted.Days[date] = day = new Dictionary<string, long>(StringComparer.Ordinal);
        day[usage.Kind] = day.GetValueOrDefault(usage.Kind) + usage.Quantity;
    }

    private UsageIdWindow IdsOf(string period, UsagePeriodState counted)
    {
        if (!_idsByPeriod.TryGetValue(period, out var ids))
        {
            if (Meter.IdHashKey.Length == 0) Meter.IdHashKey = UsageIdWindow.NewKey();
            _idsByPeriod[period] = ids = UsageIdWindow.Load(Meter.IdHashKey, counted.RecentIdHashes);
        }

        return ids;
    }

    private void DropOldPeriods()
    {
        if (Meter.Periods.Count <= options.RetainedPeriods) return;
        foreach (var period in Meter.Periods.Keys.Order(StringComparer.Ordinal).Take(Meter.Periods.Count - options.RetainedPeriods).ToList())
        {
            Meter.Periods.Remove(period);
            _idsByPeriod.Remove(period);
            _changedPeriods.Remove(period);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The usage meter of {Organization} could not write its last batch on deactivation; the stream will deliver it again")]
    private static partial void LogUnwrittenMeterLost(ILogger logger, Exception error, string organization);
}
