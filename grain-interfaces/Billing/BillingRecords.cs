namespace CloudDeck.GrainInterfaces.Billing;

/// <summary>Where an organization stands with its payments.</summary>
public static class PaymentStates
{
    /// <summary>Nothing is owed (or no subscription).</summary>
    public const string Good = "good";

    /// <summary>A payment failed; the paid plan stays until the grace period ends.</summary>
    public const string Grace = "grace";

    /// <summary>The grace period ended unpaid: the free plan's limits apply until a payment succeeds.</summary>
    public const string Suspended = "suspended";
}

/// <param name="Plan">The plan in force (what the quotas follow).</param>
/// <param name="SubscribedPlan">The plan of the Stripe subscription, null without one.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.BillingStatusView")]
public sealed record BillingStatusView(
    [property: Id(0)] string Organization,
    [property: Id(1)] string Plan,
    [property: Id(2)] string? SubscribedPlan,
    [property: Id(3)] string? SubscriptionStatus,
    [property: Id(4)] bool CancelAtPeriodEnd,
    [property: Id(5)] DateTimeOffset? CurrentPeriodEnd,
    [property: Id(6)] string PaymentState,
    [property: Id(7)] DateTimeOffset? GraceEndsAt,
    [property: Id(8)] string Currency,
    [property: Id(9)] UsageReportingView UsageReporting);

/// <summary>How far the organization's usage has reached Stripe: the lag is <c>MeterSequence - ReportedSequence</c> usage stream items.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.UsageReportingView")]
public sealed record UsageReportingView(
    [property: Id(0)] long MeterSequence,
    [property: Id(1)] long ReportedSequence,
    [property: Id(2)] int PendingMeterEvents,
    [property: Id(3)] long MeterEventsSent,
    [property: Id(4)] DateTimeOffset? LastReportedAt);

/// <param name="Kind"><c>checkout</c> or <c>portal</c>.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.BillingUrlView")]
public sealed record BillingUrlView([property: Id(0)] string Url, [property: Id(1)] string Kind);

/// <summary>Amounts in the currency's minor unit (cents).</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.InvoiceView")]
public sealed record InvoiceView(
    [property: Id(0)] string Id,
    [property: Id(1)] string? Number,
    [property: Id(2)] string Status,
    [property: Id(3)] string Currency,
    [property: Id(4)] long AmountDue,
    [property: Id(5)] long AmountPaid,
    [property: Id(6)] DateTimeOffset PeriodStart,
    [property: Id(7)] DateTimeOffset PeriodEnd,
    [property: Id(8)] DateTimeOffset Created,
    [property: Id(9)] string? HostedInvoiceUrl,
    [property: Id(10)] IReadOnlyList<InvoiceLineView> Lines);

[GenerateSerializer, Immutable, Alias("clouddeck.InvoiceLineView")]
public sealed record InvoiceLineView(
    [property: Id(0)] string Description,
    [property: Id(1)] string? PriceId,
    [property: Id(2)] long Quantity,
    [property: Id(3)] long Amount);

/// <param name="Period">The billing period (<c>YYYY-MM</c>) whose usage the invoice charges.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.UpcomingInvoiceView")]
public sealed record UpcomingInvoiceView(
    [property: Id(0)] string Organization,
    [property: Id(1)] string Period,
    [property: Id(2)] string Currency,
    [property: Id(3)] long AmountDue,
    [property: Id(4)] IReadOnlyList<UpcomingInvoiceLineView> Lines);

/// <param name="Kind"><c>base</c> for the plan's price, else the usage kind.</param>
/// <param name="Usage">The metered total (before the price's unit division); 1 for the base price.</param>
/// <param name="Quantity">What the price multiplies: usage divided by the price's unit and rounded as Stripe does.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.UpcomingInvoiceLineView")]
public sealed record UpcomingInvoiceLineView(
    [property: Id(0)] string Kind,
    [property: Id(1)] string? PriceId,
    [property: Id(2)] long Usage,
    [property: Id(3)] long Quantity,
    [property: Id(4)] decimal UnitAmount,
    [property: Id(5)] long Amount);

/// <summary>A verified Stripe event, reduced to what billing applies (read from the webhook's payload).</summary>
/// <param name="Created">Stripe's <c>created</c> of the event: orders deliveries of the same object.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.BillingEvent")]
public sealed record BillingEvent(
    [property: Id(0)] string Id,
    [property: Id(1)] string Type,
    [property: Id(2)] DateTimeOffset Created,
    [property: Id(3)] string? CustomerId,
    [property: Id(4)] BillingSubscription? Subscription,
    [property: Id(5)] BillingInvoice? Invoice);

[GenerateSerializer, Immutable, Alias("clouddeck.BillingSubscription")]
public sealed record BillingSubscription(
    [property: Id(0)] string Id,
    [property: Id(1)] string Status,
    [property: Id(2)] IReadOnlyList<string> PriceIds,
    [property: Id(3)] bool CancelAtPeriodEnd,
    [property: Id(4)] DateTimeOffset? CurrentPeriodStart,
    [property: Id(5)] DateTimeOffset? CurrentPeriodEnd);

[GenerateSerializer, Immutable, Alias("clouddeck.BillingInvoice")]
public sealed record BillingInvoice(
    [property: Id(0)] string? SubscriptionId,
    [property: Id(1)] InvoiceView View);

/// <param name="Applied">False when the event was a repeat, older than what was applied, or of a kind billing ignores.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.BillingEventOutcome")]
public sealed record BillingEventOutcome([property: Id(0)] bool Applied, [property: Id(1)] string Reason);

/// <summary>Stripe refused a call or could not be reached: HTTP 502, with Stripe's message (never a key).</summary>
[GenerateSerializer, Alias("clouddeck.PaymentProviderException")]
public sealed class PaymentProviderException(string message) : Exception(message);
