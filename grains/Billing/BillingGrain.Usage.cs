using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Billing;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Usage;

namespace CloudDeck.Grains.Billing;

/// <summary>
/// Usage to Stripe. The meter's totals per period and kind, at its stream position S, minus what was reported, become
/// meter events identified by <c>{org}.{S}.{period}.{kind}</c>: written to state first (with S and the new reported
/// totals), sent second, removed once Stripe acknowledged them. A crash or a failed call leaves them pending, to be
/// sent again with the same identifiers, which Stripe counts once; a second activation's stale write fails on its ETag
/// before it sends anything.
/// </summary>
public sealed partial class BillingGrain
{
    /// <summary>Stripe refuses meter events older than 35 days.</summary>
    private static readonly TimeSpan OldestAccepted = TimeSpan.FromDays(35) - TimeSpan.FromHours(1);

    /// <summary>Reporting goes on while there is a subscription to report to, or events still to send.</summary>
    private bool IsReporting => Billing.CustomerId is not null && (IsLive(Billing.SubscriptionStatus) || Billing.Usage.Pending.Count > 0);

    public async Task<int> ReportUsage()
    {
        if (!options.Enabled || Billing.CustomerId is not { } customer) return 0;
        var sent = 0;
        try
        {
            sent += await SendPendingAsync(customer);
            if (IsLive(Billing.SubscriptionStatus) && await TakeDeltasAsync()) sent += await SendPendingAsync(customer);
        }
        catch (StripeGatewayException e)
        {
            LogReportFailed(logger, e, Slug);
        }

        return sent;
    }

    public async Task<UsageReport> GetUsage(Caller caller, string period)
    {
        await AuthorizeAsync(caller, OrganizationActions.ViewBilling);
        return await GrainFactory.GetGrain<IUsageMeterGrain>(Slug).Report(period);
    }

    public async Task<UpcomingInvoiceView> GetUpcomingInvoice(Caller caller)
    {
        await AuthorizeAsync(caller, OrganizationActions.ViewBilling);
        var period = BillingPeriods.Of(Now);
        var totals = (await GrainFactory.GetGrain<IUsageMeterGrain>(Slug).Totals()).TotalsByPeriod.GetValueOrDefault(period);
        var lines = new List<UpcomingInvoiceLineView>();
        // The base price is billed in advance for the next period, unless the subscription ends with this one.
        if (SubscribedPlan is { } plan && !Billing.CancelAtPeriodEnd && options.PriceOf(plan) is { } price)
        {
            lines.Add(new UpcomingInvoiceLineView("base", price.PriceId, 1, 1, price.Amount, StripeAmounts.LineAmount(1, price.Amount)));
        }

        if (Billing.SubscriptionId is not null && IsLive(Billing.SubscriptionStatus))
        {
            foreach (var metered in options.Metered.Values.OrderBy(m => m.Kind, StringComparer.Ordinal))
            {
                var usage = Math.Max(0, (totals?.GetValueOrDefault(metered.Kind) ?? 0) - Baseline(period, metered.Kind));
                var quantity = StripeAmounts.Quantity(usage, metered);
                lines.Add(new UpcomingInvoiceLineView(metered.Kind, metered.PriceId, usage, quantity, metered.UnitAmount, StripeAmounts.LineAmount(quantity, metered.UnitAmount)));
            }
        }

        return new UpcomingInvoiceView(Slug, period, options.Currency, lines.Sum(l => l.Amount), lines);
    }

    /// <summary>When the first subscription starts: usage counted so far was on the free plan and is never billed.</summary>
    private async Task StartUsageReportingAsync()
    {
        var snapshot = await GrainFactory.GetGrain<IUsageMeterGrain>(Slug).Totals();
        var usage = Billing.Usage;
        usage.Started = true;
        usage.ReportedSequence = snapshot.Sequence;
        foreach (var (period, kinds) in snapshot.TotalsByPeriod)
        {
            usage.Baseline[period] = new Dictionary<string, long>(kinds, StringComparer.Ordinal);
            usage.Reported[period] = new Dictionary<string, long>(kinds, StringComparer.Ordinal);
        }

        await this.RegisterOrUpdateReminder(UsageReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1) > options.UsageReportInterval ? TimeSpan.FromMinutes(1) : options.UsageReportInterval);
        StartUsageTimer();
    }

    private void StartUsageTimer() =>
        _usageTimer ??= this.RegisterGrainTimer(async _ => await ReportUsage(), new GrainTimerCreationOptions(options.UsageReportInterval, options.UsageReportInterval) { KeepAlive = true });

    /// <summary>Turns the meter's growth since the last report into pending meter events, in one state write; false when there was none.</summary>
    private async Task<bool> TakeDeltasAsync()
    {
        var usage = Billing.Usage;
        var snapshot = await GrainFactory.GetGrain<IUsageMeterGrain>(Slug).Totals();
        if (snapshot.Sequence <= usage.ReportedSequence) return false;
        var now = Now;
        foreach (var (period, kinds) in snapshot.TotalsByPeriod.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!BillingPeriods.TryParse(period, out var start)) continue;
            if (!usage.Reported.TryGetValue(period, out var reported)) usage.Reported[period] = reported = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var metered in options.Metered.Values.OrderBy(m => m.Kind, StringComparer.Ordinal))
            {
                var total = kinds.GetValueOrDefault(metered.Kind);
                var delta = total - reported.GetValueOrDefault(metered.Kind);
                // A meter never shrinks, except while it re-applies a batch it failed to store: wait for it.
                if (delta <= 0) continue;
                reported[metered.Kind] = total;
                var timestamp = TimestampFor(start, now);
                if (timestamp is null)
                {
                    LogUsageTooOld(logger, Slug, period);
                    continue;
                }

                usage.Pending.Add(new PendingMeterEvent($"{Slug}.{snapshot.Sequence}.{period}.{metered.Kind}", metered.EventName, delta, timestamp.Value));
            }
        }

        // Periods the meter no longer keeps cannot grow: forget them.
        foreach (var gone in usage.Reported.Keys.Where(p => !snapshot.TotalsByPeriod.ContainsKey(p)).ToList())
        {
            usage.Reported.Remove(gone);
            usage.Baseline.Remove(gone);
        }

        usage.ReportedSequence = snapshot.Sequence;
        await state.WriteStateAsync();
        return usage.Pending.Count > 0;
    }

    /// <summary>Within the period (so Stripe bills it there), not in the future, and not older than Stripe accepts; null when too old.</summary>
    private static DateTimeOffset? TimestampFor(DateTimeOffset periodStart, DateTimeOffset now)
    {
        var periodEnd = periodStart.AddMonths(1);
        var timestamp = now < periodStart ? periodStart : now >= periodEnd ? periodEnd.AddSeconds(-1) : now;
        if (timestamp > now + TimeSpan.FromMinutes(4)) timestamp = now;
        return now - timestamp > OldestAccepted ? null : timestamp;
    }

    private async Task<int> SendPendingAsync(string customer)
    {
        var usage = Billing.Usage;
        var sent = 0;
        while (usage.Pending.Count > 0)
        {
            var chunk = usage.Pending.Take(options.MeterEventsPerWrite).ToList();
            using var timeout = new CancellationTokenSource(StripeCallTimeout);
            foreach (var meterEvent in chunk)
            {
                await stripe.ReportMeterEventAsync(customer, meterEvent, timeout.Token);
                sent++;
            }

            usage.Pending.RemoveRange(0, chunk.Count);
            usage.MeterEventsSent += chunk.Count;
            usage.LastReportedAt = Now;
            await state.WriteStateAsync();
        }

        return sent;
    }

    private long Baseline(string period, string kind) => Billing.Usage.Baseline.GetValueOrDefault(period)?.GetValueOrDefault(kind) ?? 0;
}
