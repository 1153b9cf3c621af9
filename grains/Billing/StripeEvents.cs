using CloudDeck.GrainInterfaces.Billing;
using Stripe;

namespace CloudDeck.Grains.Billing;

/// <summary>
/// Reads Stripe webhooks: the <c>Stripe-Signature</c> header is checked by Stripe.net's <see cref="EventUtility.ConstructEvent(string, string, string, long, long, bool)"/>
/// (HMAC-SHA256 of <c>"{t}.{body}"</c> under the endpoint's secret, timestamp within the tolerance, the event's API
/// version on Stripe.net's release train), then the event is reduced to a <see cref="BillingEvent"/>.
/// </summary>
public static class StripeEvents
{
    public const string CheckoutSessionCompleted = "checkout.session.completed";
    public const string SubscriptionCreated = "customer.subscription.created";
    public const string SubscriptionUpdated = "customer.subscription.updated";
    public const string SubscriptionDeleted = "customer.subscription.deleted";
    public const string InvoiceFinalized = "invoice.finalized";
    public const string InvoicePaid = "invoice.paid";
    public const string InvoicePaymentFailed = "invoice.payment_failed";

    public static readonly IReadOnlyList<string> Handled =
        [CheckoutSessionCompleted, SubscriptionCreated, SubscriptionUpdated, SubscriptionDeleted, InvoiceFinalized, InvoicePaid, InvoicePaymentFailed];

    /// <exception cref="StripeGatewayException">The signature is missing, wrong or too old, or the body is not a Stripe event.</exception>
    public static BillingEvent Verify(string body, string signatureHeader, string secret, long toleranceSeconds, DateTimeOffset now)
    {
        Event stripeEvent;
        try
        {
            stripeEvent = EventUtility.ConstructEvent(body, signatureHeader, secret, toleranceSeconds, now.ToUnixTimeSeconds());
        }
        catch (StripeException e)
        {
            throw new StripeGatewayException(e.Message, 400, "signature_verification_failed", e);
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException or Newtonsoft.Json.JsonException or ArgumentException)
        {
            throw new StripeGatewayException("The body or the Stripe-Signature header is not in Stripe's format.", 400, "bad_format", e);
        }

        return ToBillingEvent(stripeEvent);
    }

    public static BillingEvent ToBillingEvent(Event stripeEvent)
    {
        var created = new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc));
        return stripeEvent.Data?.Object switch
        {
            Subscription subscription => new BillingEvent(stripeEvent.Id, stripeEvent.Type, created, subscription.CustomerId, ToSubscription(subscription), null),
            Invoice invoice => new BillingEvent(stripeEvent.Id, stripeEvent.Type, created, invoice.CustomerId, null,
                new BillingInvoice(invoice.Parent?.SubscriptionDetails?.SubscriptionId, ToInvoice(invoice))),
            Stripe.Checkout.Session session => new BillingEvent(stripeEvent.Id, stripeEvent.Type, created, session.CustomerId,
                session.SubscriptionId is { } id ? new BillingSubscription(id, "", [], false, null, null) : null, null),
            _ => new BillingEvent(stripeEvent.Id, stripeEvent.Type, created, null, null, null),
        };
    }

    public static BillingSubscription ToSubscription(Subscription subscription)
    {
        var items = subscription.Items?.Data ?? [];
        // Since API version 2025-03-31 the period lives on the items; they share it.
        var first = items.FirstOrDefault();
        return new BillingSubscription(
            subscription.Id,
            subscription.Status ?? "",
            [.. items.Select(i => i.Price?.Id).OfType<string>()],
            subscription.CancelAtPeriodEnd,
            first is null ? null : Utc(first.CurrentPeriodStart),
            first is null ? null : Utc(first.CurrentPeriodEnd));
    }

    private static InvoiceView ToInvoice(Invoice invoice) => new(
        invoice.Id,
        invoice.Number,
        invoice.Status ?? "",
        invoice.Currency ?? "",
        invoice.AmountDue,
        invoice.AmountPaid,
        Utc(invoice.PeriodStart),
        Utc(invoice.PeriodEnd),
        Utc(invoice.Created),
        invoice.HostedInvoiceUrl,
        [.. (invoice.Lines?.Data ?? []).Select(line => new InvoiceLineView(line.Description ?? "", line.Pricing?.PriceDetails?.PriceId, line.Quantity ?? 0, line.Amount))]);

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
