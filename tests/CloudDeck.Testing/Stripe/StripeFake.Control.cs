using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace CloudDeck.Testing.Stripe;

/// <summary>What happens on Stripe's side without CloudDeck asking: payments, period ends, and the events they send.</summary>
public sealed partial class StripeFake
{
    private readonly HttpClient _webhookClient;
    private readonly List<FakeEvent> _events = [];
    private int _invoiceNumbers;

    /// <summary>An event as Stripe sends it: <see cref="Payload"/> is the exact body that is signed.</summary>
    public sealed record FakeEvent(string Id, string Type, long Created, string Payload);

    public IReadOnlyList<FakeEvent> Events
    {
        get
        {
            lock (_gate) return [.. _events];
        }
    }

    /// <summary>The customer pays at Checkout: the subscription starts (periods anchored where the session said), its first invoice is paid.</summary>
    public async Task<FakeSubscription> CompleteCheckoutAsync(string checkoutUrl)
    {
        var sessionId = checkoutUrl.TrimEnd('/').Split('/')[^1];
        FakeCheckoutSession session;
        lock (_gate) session = _sessions.TryGetValue(sessionId, out var s) ? s : throw new InvalidOperationException($"No checkout session {sessionId}.");
        var now = NowUnix;
        var anchor = session.BillingCycleAnchor != 0 ? session.BillingCycleAnchor : DateTimeOffset.FromUnixTimeSeconds(now).AddMonths(1).ToUnixTimeSeconds();
        var subscription = new FakeSubscription
        {
            Id = "sub_" + NextId(), Customer = session.Customer, Created = now, Prices = [.. session.Prices], PeriodStart = now, PeriodEnd = anchor,
            Metadata = new Dictionary<string, string>(session.SubscriptionMetadata),
        };
        lock (_gate)
        {
            _subscriptions[subscription.Id] = subscription;
            session.SubscriptionId = subscription.Id;
        }

        Emit("customer.subscription.created", SubscriptionJson(subscription));
        // The first invoice: the base prices from now to the anchor, prorated by the second as Stripe's create_prorations does.
        var fullPeriod = anchor - DateTimeOffset.FromUnixTimeSeconds(anchor).AddMonths(-1).ToUnixTimeSeconds();
        var lines = BasePrices(subscription).Select(p => new FakeInvoiceLine($"{p.Id} (prorated)", p.Id, 1, p.UnitAmountDecimal,
            (long)decimal.Round(p.UnitAmountDecimal * (anchor - now) / fullPeriod, 0, MidpointRounding.AwayFromZero), now, anchor)).ToList();
        var invoice = NewInvoice(subscription, now, anchor, lines);
        Emit("invoice.finalized", InvoiceJson(invoice, subscription));
        Settle(invoice, paid: true);
        Emit("invoice.paid", InvoiceJson(invoice, subscription));
        Emit("checkout.session.completed", SessionJson(session));
        await DeliverPendingAsync();
        return subscription;
    }

    /// <summary>
    /// The subscription's period ends: its invoice charges the metered usage of the period (the meter events whose
    /// timestamp falls in it) and, unless it cancels at the period's end, the base price of the next period. A
    /// subscription set to cancel ends (<c>customer.subscription.deleted</c>); a failed payment makes it past_due.
    /// </summary>
    public async Task<FakeInvoice> EndPeriodAsync(string subscriptionId, bool paymentSucceeds = true)
    {
        var subscription = Subscription(subscriptionId);
        var invoice = NewInvoice(subscription, subscription.PeriodStart, subscription.PeriodEnd, PeriodLines(subscription));
        Emit("invoice.finalized", InvoiceJson(invoice, subscription));
        lock (_gate)
        {
            if (subscription.CancelAtPeriodEnd) subscription.Status = "canceled";
            else
            {
                subscription.PeriodStart = subscription.PeriodEnd;
                subscription.PeriodEnd = DateTimeOffset.FromUnixTimeSeconds(subscription.PeriodEnd).AddMonths(1).ToUnixTimeSeconds();
            }
        }

        Emit(subscription.Status == "canceled" ? "customer.subscription.deleted" : "customer.subscription.updated", SubscriptionJson(subscription));
        Settle(invoice, paymentSucceeds);
        Emit(paymentSucceeds ? "invoice.paid" : "invoice.payment_failed", InvoiceJson(invoice, subscription));
        if (!paymentSucceeds && subscription.Status == "active")
        {
            lock (_gate) subscription.Status = "past_due";
            Emit("customer.subscription.updated", SubscriptionJson(subscription));
        }

        await DeliverPendingAsync();
        return invoice;
    }

    /// <summary>What <see cref="EndPeriodAsync"/> would charge now, without ending anything.</summary>
    public long PreviewPeriodTotal(string subscriptionId) => PeriodLines(Subscription(subscriptionId)).Sum(l => l.Amount);

    /// <summary>The customer pays an open invoice (a new card in the portal): invoice.paid, and a past_due subscription is active again.</summary>
    public async Task PayInvoiceAsync(string invoiceId)
    {
        FakeInvoice invoice;
        lock (_gate) invoice = _invoices[invoiceId];
        var subscription = Subscription(invoice.Subscription);
        Settle(invoice, paid: true);
        Emit("invoice.paid", InvoiceJson(invoice, subscription));
        if (subscription.Status == "past_due")
        {
            lock (_gate) subscription.Status = "active";
            Emit("customer.subscription.updated", SubscriptionJson(subscription));
        }

        await DeliverPendingAsync();
    }

    /// <summary>A plan change made in the Customer Portal: the base price replaced, an update event sent.</summary>
    public async Task ChangeBasePriceAsync(string subscriptionId, string priceId)
    {
        var subscription = Subscription(subscriptionId);
        lock (_gate)
        {
            var bases = subscription.Prices.Where(p => _prices[p].MeterEventName is null).ToList();
            subscription.Prices = [priceId, .. subscription.Prices.Except(bases)];
        }

        Emit("customer.subscription.updated", SubscriptionJson(subscription));
        await DeliverPendingAsync();
    }

    /// <summary>Posts the event to <see cref="WebhookUrl"/> signed with <paramref name="secret"/> at <paramref name="signedAt"/> (default: now); answers the status.</summary>
    public async Task<HttpStatusCode> DeliverAsync(FakeEvent stripeEvent, string secret = WebhookSecret, DateTimeOffset? signedAt = null, string? signatureHeader = null)
    {
        var url = WebhookUrl ?? throw new InvalidOperationException("Set WebhookUrl first.");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(stripeEvent.Payload, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signatureHeader ?? Sign(stripeEvent.Payload, (signedAt ?? Clock.GetUtcNow()).ToUnixTimeSeconds(), secret));
        request.Headers.UserAgent.ParseAdd("Stripe/1.0 (+https://stripe.com/docs/webhooks)");
        using var response = await _webhookClient.SendAsync(request);
        lock (_gate) _delivered.Add(stripeEvent.Id);
        return response.StatusCode;
    }

    private readonly HashSet<string> _delivered = new(StringComparer.Ordinal);

    /// <summary>Delivers, in order, every event not delivered yet (unless <see cref="HoldWebhooks"/>); a non-2xx answer fails the test's call.</summary>
    public async Task DeliverPendingAsync()
    {
        if (HoldWebhooks || WebhookUrl is null) return;
        List<FakeEvent> pending;
        lock (_gate) pending = [.. _events.Where(e => !_delivered.Contains(e.Id))];
        foreach (var stripeEvent in pending)
        {
            var status = await DeliverAsync(stripeEvent);
            if ((int)status is < 200 or > 299) throw new InvalidOperationException($"The webhook answered {(int)status} to {stripeEvent.Type} {stripeEvent.Id}.");
        }
    }

    private void Emit(string type, JsonObject dataObject)
    {
        var id = "evt_" + NextId();
        var created = NowUnix;
        var payload = new JsonObject
        {
            ["id"] = id, ["object"] = "event", ["api_version"] = ApiVersion, ["created"] = created, ["type"] = type, ["livemode"] = false,
            ["pending_webhooks"] = 1, ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
            ["data"] = new JsonObject { ["object"] = dataObject },
        }.ToJsonString();
        lock (_gate) _events.Add(new FakeEvent(id, type, created, payload));
    }

    private IEnumerable<FakePrice> BasePrices(FakeSubscription subscription)
    {
        lock (_gate) return [.. subscription.Prices.Select(p => _prices[p]).Where(p => p.MeterEventName is null)];
    }

    /// <summary>
    /// Stripe's arithmetic for a period: per metered price, the sum of the period's meter events, divided by
    /// <c>transform_quantity[divide_by]</c> (rounded as the price says), times <c>unit_amount_decimal</c>, rounded to a
    /// cent with halves away from zero; per base price, its amount for the next period.
    /// </summary>
    private List<FakeInvoiceLine> PeriodLines(FakeSubscription subscription)
    {
        var lines = new List<FakeInvoiceLine>();
        lock (_gate)
        {
            foreach (var price in subscription.Prices.Select(p => _prices[p]))
            {
                if (price.MeterEventName is null)
                {
                    if (subscription.CancelAtPeriodEnd) continue;
                    var next = DateTimeOffset.FromUnixTimeSeconds(subscription.PeriodEnd).AddMonths(1).ToUnixTimeSeconds();
                    lines.Add(new FakeInvoiceLine(price.Id, price.Id, 1, price.UnitAmountDecimal, (long)price.UnitAmountDecimal, subscription.PeriodEnd, next));
                    continue;
                }

                var sum = _meterEvents.Values.Where(e => e.Customer == subscription.Customer && e.EventName == price.MeterEventName
                    && e.Timestamp >= subscription.PeriodStart && e.Timestamp < subscription.PeriodEnd).Sum(e => e.Value);
                var quantity = price.RoundUp ? (sum + price.DivideBy - 1) / price.DivideBy : sum / price.DivideBy;
                var amount = (long)decimal.Round(quantity * price.UnitAmountDecimal, 0, MidpointRounding.AwayFromZero);
                lines.Add(new FakeInvoiceLine($"{price.MeterEventName} × {quantity.ToString(CultureInfo.InvariantCulture)}", price.Id, quantity, price.UnitAmountDecimal,
                    amount, subscription.PeriodStart, subscription.PeriodEnd));
            }
        }

        return lines;
    }

    private FakeInvoice NewInvoice(FakeSubscription subscription, long periodStart, long periodEnd, IReadOnlyList<FakeInvoiceLine> lines)
    {
        var invoice = new FakeInvoice
        {
            Id = "in_" + NextId(), Number = $"FAKE-{Interlocked.Increment(ref _invoiceNumbers):D4}", Customer = subscription.Customer, Subscription = subscription.Id,
            PeriodStart = periodStart, PeriodEnd = periodEnd, Created = NowUnix, Lines = lines,
        };
        lock (_gate) _invoices[invoice.Id] = invoice;
        return invoice;
    }

    private void Settle(FakeInvoice invoice, bool paid)
    {
        lock (_gate)
        {
            if (!paid) return;
            invoice.Status = "paid";
            invoice.AmountPaid = invoice.Total;
        }
    }
}
