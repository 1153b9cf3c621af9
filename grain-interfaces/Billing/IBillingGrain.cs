using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Usage;

namespace CloudDeck.GrainInterfaces.Billing;

/// <summary>
/// An organization's billing on Stripe (keyed by the organization's slug): its Stripe customer and subscription, the
/// payment state with its grace period, the invoices Stripe reported, and the reporting of the organization's metered
/// usage as Stripe Billing meter events. Exists only when billing is on (<c>CloudDeck:Billing:Stripe:*</c>); every
/// method for a caller answers 404 for non-members, 403 for members whose role falls short, and 409 while billing is off.
/// </summary>
[Alias("clouddeck.IBillingGrain")]
public interface IBillingGrain : IGrainWithStringKey
{
    /// <summary>Plan, subscription, payment state and how far usage reporting has come. Admins and owners.</summary>
    Task<BillingStatusView> GetStatus(Caller caller);

    /// <summary>
    /// Where to pay for <paramref name="plan"/>: a Stripe Checkout session when the organization has no subscription, the
    /// Customer Portal's plan change otherwise. The plan changes only when Stripe confirms it (a webhook). Owners.
    /// </summary>
    Task<BillingUrlView> StartUpgrade(Caller caller, string plan);

    /// <summary>A Stripe Customer Portal session (cards, invoices, plan changes). Owners.</summary>
    Task<BillingUrlView> OpenPortal(Caller caller);

    /// <summary>Back to the free plan at the end of the paid period: the subscription is set to cancel then. Owners.</summary>
    Task<BillingStatusView> DowngradeAtPeriodEnd(Caller caller);

    /// <summary>Invoices Stripe reported (newest first), with their lines. Admins and owners.</summary>
    Task<IReadOnlyList<InvoiceView>> ListInvoices(Caller caller);

    /// <summary>A period's usage per day, for the CSV export. Admins and owners.</summary>
    Task<UsageReport> GetUsage(Caller caller, string period);

    /// <summary>The next invoice, computed here from the meters and the configured prices. Admins and owners.</summary>
    Task<UpcomingInvoiceView> GetUpcomingInvoice(Caller caller);

    /// <summary>
    /// A verified Stripe event for this organization (from the webhook). Applied once per event id; an event older than
    /// what was applied for the same object changes nothing.
    /// </summary>
    Task<BillingEventOutcome> Apply(BillingEvent stripeEvent);

    /// <summary>
    /// Reports usage the meter counted since the last report as meter events, and sends meter events not yet
    /// acknowledged; answers how many Stripe acknowledged. A timer and a reminder call it; tests and benchmarks too.
    /// </summary>
    Task<int> ReportUsage();
}

/// <summary>Which organization a Stripe customer belongs to (keyed by the Stripe customer id); written when CloudDeck creates the customer.</summary>
[Alias("clouddeck.IBillingCustomerGrain")]
public interface IBillingCustomerGrain : IGrainWithStringKey
{
    [ReadOnly]
    Task<string?> GetOrganization();

    Task SetOrganization(string organization);
}
