using System.Net;
using CloudDeck.GrainInterfaces.Billing;
using Stripe;

namespace CloudDeck.Grains.Billing;

/// <summary><see cref="IStripeGateway"/> through Stripe.net, at <see cref="BillingOptions.ApiBase"/>, with the secret key.</summary>
public sealed class StripeNetGateway : IStripeGateway
{
    /// <summary>What Stripe answers for a meter event whose identifier it already has (see docs/billing.md).</summary>
    public const string DuplicateIdentifierCode = "resource_already_exists";

    public const string OrganizationMetadataKey = "clouddeck_org";

    private readonly StripeClient _client;

    public StripeNetGateway(BillingOptions options, HttpClient http)
    {
        _client = new StripeClient(new StripeClientOptions
        {
            ApiKey = options.SecretKey,
            ApiBase = options.ApiBase.ToString().TrimEnd('/'),
            MeterEventsBase = options.ApiBase.ToString().TrimEnd('/'),
            // Network failures are retried by Stripe.net with the same Idempotency-Key, so a retry is never a second request.
            HttpClient = new SystemNetHttpClient(http, maxNetworkRetries: 2),
        });
    }

    public Task<string> CreateCustomerAsync(string organization, string email, string idempotencyKey, CancellationToken cancellationToken) =>
        CallAsync(async () => (await new CustomerService(_client).CreateAsync(new CustomerCreateOptions
        {
            Email = email,
            Name = organization,
            Metadata = new Dictionary<string, string> { [OrganizationMetadataKey] = organization },
        }, new RequestOptions { IdempotencyKey = idempotencyKey }, cancellationToken)).Id);

    public Task<string> CreateCheckoutSessionAsync(CheckoutRequest request, CancellationToken cancellationToken) =>
        CallAsync(async () =>
        {
            var lineItems = new List<Stripe.Checkout.SessionLineItemOptions> { new() { Price = request.Plan.PriceId, Quantity = 1 } };
            // Metered prices take no quantity: the period's meter events decide it.
            lineItems.AddRange(request.Metered.Select(m => new Stripe.Checkout.SessionLineItemOptions { Price = m.PriceId }));
            var session = await new Stripe.Checkout.SessionService(_client).CreateAsync(new Stripe.Checkout.SessionCreateOptions
            {
                Mode = "subscription",
                Customer = request.CustomerId,
                ClientReferenceId = request.Organization,
                LineItems = lineItems,
                SuccessUrl = AddQuery(request.ReturnUrl, "checkout=success"),
                CancelUrl = AddQuery(request.ReturnUrl, "checkout=canceled"),
                SubscriptionData = new Stripe.Checkout.SessionSubscriptionDataOptions
                {
                    BillingCycleAnchor = request.BillingCycleAnchor.UtcDateTime,
                    ProrationBehavior = "create_prorations",
                    Metadata = new Dictionary<string, string> { [OrganizationMetadataKey] = request.Organization },
                },
                Metadata = new Dictionary<string, string> { [OrganizationMetadataKey] = request.Organization },
            }, new RequestOptions { IdempotencyKey = request.IdempotencyKey }, cancellationToken);
            return session.Url;
        });

    public Task<string> CreatePortalSessionAsync(string customerId, string returnUrl, string? subscriptionToUpdate, CancellationToken cancellationToken) =>
        CallAsync(async () => (await new Stripe.BillingPortal.SessionService(_client).CreateAsync(new Stripe.BillingPortal.SessionCreateOptions
        {
            Customer = customerId,
            ReturnUrl = returnUrl,
            FlowData = subscriptionToUpdate is null ? null : new Stripe.BillingPortal.SessionFlowDataOptions
            {
                Type = "subscription_update",
                SubscriptionUpdate = new Stripe.BillingPortal.SessionFlowDataSubscriptionUpdateOptions { Subscription = subscriptionToUpdate },
            },
        }, cancellationToken: cancellationToken)).Url);

    public Task<BillingSubscription> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) =>
        CallAsync(async () => StripeEvents.ToSubscription(await new SubscriptionService(_client).GetAsync(subscriptionId, cancellationToken: cancellationToken)));

    public Task<BillingSubscription> SetCancelAtPeriodEndAsync(string subscriptionId, bool cancel, string idempotencyKey, CancellationToken cancellationToken) =>
        CallAsync(async () => StripeEvents.ToSubscription(await new SubscriptionService(_client).UpdateAsync(subscriptionId,
            new SubscriptionUpdateOptions { CancelAtPeriodEnd = cancel }, new RequestOptions { IdempotencyKey = idempotencyKey }, cancellationToken)));

    public async Task ReportMeterEventAsync(string customerId, PendingMeterEvent meterEvent, CancellationToken cancellationToken)
    {
        try
        {
            await new Stripe.Billing.MeterEventService(_client).CreateAsync(new Stripe.Billing.MeterEventCreateOptions
            {
                EventName = meterEvent.EventName,
                Identifier = meterEvent.Identifier,
                Timestamp = meterEvent.Timestamp.UtcDateTime,
                Payload = new Dictionary<string, string>
                {
                    ["stripe_customer_id"] = customerId,
                    ["value"] = meterEvent.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
            }, new RequestOptions { IdempotencyKey = "meter-" + meterEvent.Identifier }, cancellationToken);
        }
        catch (StripeException e) when (e.StripeError?.Code == DuplicateIdentifierCode)
        {
            // Stripe has this identifier already: the event counted once, which is what a resend after a crash wants.
        }
        catch (StripeException e)
        {
            throw Wrap(e);
        }
        catch (HttpRequestException e)
        {
            throw new StripeGatewayException($"Stripe could not be reached: {e.Message}", null, null, e);
        }
    }

    private static async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (StripeException e)
        {
            throw Wrap(e);
        }
        catch (HttpRequestException e)
        {
            throw new StripeGatewayException($"Stripe could not be reached: {e.Message}", null, null, e);
        }
    }

    private static StripeGatewayException Wrap(StripeException e) =>
        new($"Stripe answered {(int)e.HttpStatusCode}: {e.StripeError?.Message ?? e.Message}",
            e.HttpStatusCode == default(HttpStatusCode) ? null : (int)e.HttpStatusCode, e.StripeError?.Code, e);

    private static string AddQuery(string url, string query) => url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;
}
