using CloudDeck.GrainInterfaces.Billing;

namespace CloudDeck.Grains.Billing;

/// <summary>One meter event as stored until Stripe acknowledges it; resent with the same identifier after a crash.</summary>
public sealed record PendingMeterEvent(string Identifier, string EventName, long Value, DateTimeOffset Timestamp);

/// <summary>
/// The Stripe calls billing makes, behind an interface so that the grain holds no HTTP details. The implementation is
/// <see cref="StripeNetGateway"/> (Stripe.net); tests run it against a local server speaking Stripe's wire format.
/// Every method throws <see cref="StripeGatewayException"/> when Stripe refuses or cannot be reached.
/// </summary>
public interface IStripeGateway
{
    /// <summary>Creates the organization's customer; the same <paramref name="idempotencyKey"/> answers the same customer.</summary>
    Task<string> CreateCustomerAsync(string organization, string email, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>A subscription-mode Checkout session for the plan's base price and every metered price; answers its URL.</summary>
    Task<string> CreateCheckoutSessionAsync(CheckoutRequest request, CancellationToken cancellationToken);

    /// <summary>A Customer Portal session; with <paramref name="subscriptionToUpdate"/> it opens on that subscription's plan change.</summary>
    Task<string> CreatePortalSessionAsync(string customerId, string returnUrl, string? subscriptionToUpdate, CancellationToken cancellationToken);

    Task<BillingSubscription> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken);

    Task<BillingSubscription> SetCancelAtPeriodEndAsync(string subscriptionId, bool cancel, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Sends one meter event; an identifier Stripe already has counts as sent (it is not counted twice).</summary>
    Task ReportMeterEventAsync(string customerId, PendingMeterEvent meterEvent, CancellationToken cancellationToken);
}

/// <param name="BillingCycleAnchor">The first of the next month (UTC), so that periods are the meters' calendar months.</param>
public sealed record CheckoutRequest(
    string Organization,
    string CustomerId,
    PlanPrice Plan,
    IReadOnlyList<MeteredPrice> Metered,
    DateTimeOffset BillingCycleAnchor,
    string ReturnUrl,
    string IdempotencyKey);

/// <summary>Stripe refused a call or could not be reached. The message is Stripe's (it never carries a key).</summary>
public sealed class StripeGatewayException(string message, int? status, string? code, Exception? inner = null) : Exception(message, inner)
{
    public int? Status { get; } = status;

    public string? Code { get; } = code;
}
