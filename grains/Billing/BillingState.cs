using CloudDeck.GrainInterfaces.Billing;

namespace CloudDeck.Grains.Billing;

/// <summary>An organization's billing, as the billing grain stores it.</summary>
public sealed class BillingState
{
    public string? CustomerId { get; set; }

    public string? SubscriptionId { get; set; }

    public string? SubscriptionStatus { get; set; }

    public List<string> SubscriptionPriceIds { get; set; } = [];

    public bool CancelAtPeriodEnd { get; set; }

    public DateTimeOffset? CurrentPeriodStart { get; set; }

    public DateTimeOffset? CurrentPeriodEnd { get; set; }

    /// <summary><c>created</c> of the newest subscription event applied: an older one arriving later changes nothing.</summary>
    public DateTimeOffset SubscriptionEventAt { get; set; }

    /// <summary>The plan last given to the organization grain (so a repeat is not audited twice).</summary>
    public string? AppliedPlan { get; set; }

    public string PaymentState { get; set; } = PaymentStates.Good;

    public DateTimeOffset? GraceEndsAt { get; set; }

    public string? FailedInvoiceId { get; set; }

    /// <summary>By invoice id.</summary>
    public Dictionary<string, StoredInvoice> Invoices { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Ids of the newest events applied, oldest first (at most <see cref="BillingGrain.RememberedEvents"/>).</summary>
    public List<string> RecentEventIds { get; set; } = [];

    public UsageReportingState Usage { get; set; } = new();
}

public sealed class StoredInvoice
{
    public InvoiceView View { get; set; } = null!;

    public DateTimeOffset EventAt { get; set; }
}

/// <summary>
/// Usage reporting as an outbox: the deltas of the meter's totals since <see cref="ReportedSequence"/> become
/// <see cref="Pending"/> meter events in the same write that moves <see cref="ReportedSequence"/> and
/// <see cref="Reported"/>; they leave <see cref="Pending"/> once Stripe acknowledged them. A crash in between resends
/// them with the same identifiers, which Stripe counts once.
/// </summary>
public sealed class UsageReportingState
{
    /// <summary>The meter's stream position whose totals are reported (or pending).</summary>
    public long ReportedSequence { get; set; }

    /// <summary>By period, then usage kind: what is reported or pending.</summary>
    public Dictionary<string, Dictionary<string, long>> Reported { get; set; } = new(StringComparer.Ordinal);

    /// <summary>By period, then kind: usage from before the subscription, which is never billed.</summary>
    public Dictionary<string, Dictionary<string, long>> Baseline { get; set; } = new(StringComparer.Ordinal);

    public List<PendingMeterEvent> Pending { get; set; } = [];

    public long MeterEventsSent { get; set; }

    public DateTimeOffset? LastReportedAt { get; set; }

    /// <summary>Whether the baseline was taken (when the first subscription started).</summary>
    public bool Started { get; set; }
}
