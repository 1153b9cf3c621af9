using System.Globalization;
using System.Text.Json.Nodes;

namespace CloudDeck.Testing.Stripe;

/// <summary>The fake's Stripe objects and the requests that make them.</summary>
public sealed partial class StripeFake
{
    public const string ProPrice = "price_pro_monthly";
    public const string TeamPrice = "price_team_monthly";

    private readonly Dictionary<string, FakePrice> _prices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeCustomer> _customers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeCheckoutSession> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeSubscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeInvoice> _invoices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeMeterEvent> _meterEvents = new(StringComparer.Ordinal);
    private int _duplicateMeterEvents;

    /// <summary>A price as Stripe keeps it: <c>unit_amount_decimal</c> in cents; metered ones with their meter's event name and <c>transform_quantity</c>.</summary>
    public sealed record FakePrice(string Id, decimal UnitAmountDecimal, string? MeterEventName, long DivideBy = 1, bool RoundUp = true);

    public sealed record FakeCustomer(string Id, string? Email, IReadOnlyDictionary<string, string> Metadata);

    public sealed record FakeCheckoutSession(string Id, string Customer, string? ClientReferenceId, IReadOnlyList<string> Prices, long BillingCycleAnchor,
        IReadOnlyDictionary<string, string> SubscriptionMetadata, string SuccessUrl)
    {
        public string? SubscriptionId { get; set; }
    }

    public sealed class FakeSubscription
    {
        public required string Id { get; init; }

        public required string Customer { get; init; }

        public required long Created { get; init; }

        public List<string> Prices { get; set; } = [];

        public string Status { get; set; } = "active";

        public bool CancelAtPeriodEnd { get; set; }

        public long PeriodStart { get; set; }

        public long PeriodEnd { get; set; }

        public Dictionary<string, string> Metadata { get; init; } = [];
    }

    public sealed record FakeInvoiceLine(string Description, string PriceId, long Quantity, decimal UnitAmountDecimal, long Amount, long PeriodStart, long PeriodEnd);

    public sealed class FakeInvoice
    {
        public required string Id { get; init; }

        public required string Number { get; init; }

        public required string Customer { get; init; }

        public required string Subscription { get; init; }

        public required long PeriodStart { get; init; }

        public required long PeriodEnd { get; init; }

        public required long Created { get; init; }

        public required IReadOnlyList<FakeInvoiceLine> Lines { get; init; }

        public string Status { get; set; } = "open";

        public long Total => Lines.Sum(l => l.Amount);

        public long AmountPaid { get; set; }
    }

    public sealed record FakeMeterEvent(string Identifier, string EventName, string Customer, long Value, long Timestamp);

    /// <summary>Meter events accepted, each identifier once.</summary>
    public IReadOnlyList<FakeMeterEvent> MeterEvents
    {
        get
        {
            lock (_gate) return [.. _meterEvents.Values];
        }
    }

    /// <summary>Meter events refused because their identifier was already taken (a resend after a crash, say).</summary>
    public int DuplicateMeterEvents => Volatile.Read(ref _duplicateMeterEvents);

    public FakeSubscription Subscription(string id)
    {
        lock (_gate) return _subscriptions.TryGetValue(id, out var subscription) ? subscription : throw Missing("subscription", id, "id");
    }

    public IReadOnlyList<FakeSubscription> SubscriptionsOf(string customer)
    {
        lock (_gate) return [.. _subscriptions.Values.Where(s => s.Customer == customer)];
    }

    public FakeInvoice Invoice(string id)
    {
        lock (_gate) return _invoices[id];
    }

    public void AddPrice(FakePrice price)
    {
        lock (_gate) _prices[price.Id] = price;
    }

    /// <summary>What an operator creates in Stripe for CloudDeck's default prices (docs/billing.md).</summary>
    private void AddDefaultPrices()
    {
        AddPrice(new FakePrice(ProPrice, 2000m, null));
        AddPrice(new FakePrice(TeamPrice, 10000m, null));
        AddPrice(new FakePrice("price_build_minutes", 5m, "clouddeck_build_minutes"));
        AddPrice(new FakePrice("price_edge_bytes_served", 10m, "clouddeck_edge_bytes_served", 1_000_000_000));
        AddPrice(new FakePrice("price_storage_byte_hours", 2m, "clouddeck_storage_byte_hours", 730_000_000_000));
    }

    private JsonObject CreateCustomer(Dictionary<string, string> form)
    {
        var customer = new FakeCustomer("cus_" + NextId(), form.GetValueOrDefault("email"), Nested(form, "metadata"));
        lock (_gate) _customers[customer.Id] = customer;
        return new JsonObject
        {
            ["id"] = customer.Id, ["object"] = "customer", ["email"] = customer.Email, ["name"] = form.GetValueOrDefault("name"),
            ["created"] = NowUnix, ["livemode"] = false, ["metadata"] = Json(customer.Metadata),
        };
    }

    private JsonObject CreateCheckoutSession(Dictionary<string, string> form)
    {
        if (form.GetValueOrDefault("mode") != "subscription") throw Invalid("mode", "This fake only makes subscription-mode sessions.");
        var customer = form.GetValueOrDefault("customer") ?? throw Invalid("customer", "Missing required param: customer.", "parameter_missing");
        var prices = new List<string>();
        for (var i = 0; form.TryGetValue($"line_items[{i}][price]", out var price); i++)
        {
            FakePrice known;
            lock (_gate) known = _prices.TryGetValue(price, out var p) ? p : throw new FakeStripeError(400, "invalid_request_error", "resource_missing", $"No such price: '{price}'", $"line_items[{i}][price]");
            if (known.MeterEventName is not null && form.ContainsKey($"line_items[{i}][quantity]"))
            {
                throw Invalid($"line_items[{i}][quantity]", "Quantity should not be specified where usage_type is `metered`. Remove quantity from `line_items[" + i + "]`");
            }

            prices.Add(price);
        }

        if (prices.Count == 0) throw Invalid("line_items", "Missing required param: line_items.", "parameter_missing");
        lock (_gate)
        {
            if (!_customers.ContainsKey(customer)) throw Missing("customer", customer, "customer");
        }

        var anchor = form.TryGetValue("subscription_data[billing_cycle_anchor]", out var anchorText) ? long.Parse(anchorText, CultureInfo.InvariantCulture) : 0;
        if (anchor != 0 && anchor <= NowUnix) throw Invalid("subscription_data[billing_cycle_anchor]", "billing_cycle_anchor cannot be in the past.");
        var session = new FakeCheckoutSession("cs_test_" + NextId(), customer, form.GetValueOrDefault("client_reference_id"), prices, anchor,
            Nested(form, "subscription_data[metadata]"), form.GetValueOrDefault("success_url") ?? throw Invalid("success_url", "Missing required param: success_url.", "parameter_missing"));
        lock (_gate) _sessions[session.Id] = session;
        return SessionJson(session);
    }

    private JsonObject CreatePortalSession(Dictionary<string, string> form)
    {
        var customer = form.GetValueOrDefault("customer") ?? throw Invalid("customer", "Missing required param: customer.", "parameter_missing");
        lock (_gate)
        {
            if (!_customers.ContainsKey(customer)) throw Missing("customer", customer, "customer");
            if (form.GetValueOrDefault("flow_data[subscription_update][subscription]") is { } sub && !_subscriptions.ContainsKey(sub))
            {
                throw Missing("subscription", sub, "flow_data[subscription_update][subscription]");
            }
        }

        var id = "bps_" + NextId();
        return new JsonObject
        {
            ["id"] = id, ["object"] = "billing_portal.session", ["customer"] = customer, ["return_url"] = form.GetValueOrDefault("return_url"),
            ["url"] = new Uri(BaseAddress, $"p/session/{id}").ToString(), ["created"] = NowUnix, ["livemode"] = false,
        };
    }

    private JsonObject UpdateSubscription(string id, Dictionary<string, string> form)
    {
        var subscription = Subscription(id);
        lock (_gate)
        {
            if (form.TryGetValue("cancel_at_period_end", out var cancel)) subscription.CancelAtPeriodEnd = cancel == "true";
        }

        Emit("customer.subscription.updated", SubscriptionJson(subscription));
        return SubscriptionJson(subscription);
    }

    private JsonObject CreateMeterEvent(Dictionary<string, string> form)
    {
        var eventName = form.GetValueOrDefault("event_name") ?? throw Invalid("event_name", "Missing required param: event_name.", "parameter_missing");
        var customer = form.GetValueOrDefault("payload[stripe_customer_id]") ?? throw Invalid("payload", "The payload is missing the stripe_customer_id key.", "parameter_missing");
        if (!long.TryParse(form.GetValueOrDefault("payload[value]"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw Invalid("payload[value]", "The value must be a number.");
        }

        var timestamp = form.TryGetValue("timestamp", out var t) ? long.Parse(t, CultureInfo.InvariantCulture) : NowUnix;
        if (timestamp < NowUnix - 35 * 86_400 || timestamp > NowUnix + 300) throw Invalid("timestamp", "Timestamp must be within the past 35 calendar days and not more than 5 minutes in the future.");
        var identifier = form.GetValueOrDefault("identifier") ?? "mev_" + NextId();
        if (identifier.Length > 100) throw Invalid("identifier", "Identifier must be at most 100 characters.");
        var meterEvent = new FakeMeterEvent(identifier, eventName, customer, value, timestamp);
        lock (_gate)
        {
            if (!_prices.Values.Any(p => p.MeterEventName == eventName)) throw new FakeStripeError(400, "invalid_request_error", "resource_missing", $"No active meter found for event name '{eventName}'.", "event_name");
            if (!_customers.ContainsKey(customer)) throw Missing("customer", customer, "payload[stripe_customer_id]");
            if (!_meterEvents.TryAdd(identifier, meterEvent))
            {
                _duplicateMeterEvents++;
                throw new FakeStripeError(400, "invalid_request_error", "resource_already_exists", $"An event with identifier '{identifier}' already exists.", "identifier");
            }
        }

        return new JsonObject
        {
            ["object"] = "billing.meter_event", ["created"] = NowUnix, ["event_name"] = eventName, ["identifier"] = identifier, ["livemode"] = false,
            ["payload"] = new JsonObject { ["stripe_customer_id"] = customer, ["value"] = value.ToString(CultureInfo.InvariantCulture) }, ["timestamp"] = timestamp,
        };
    }

    private JsonObject SessionJson(FakeCheckoutSession session) => new()
    {
        ["id"] = session.Id, ["object"] = "checkout.session", ["mode"] = "subscription", ["customer"] = session.Customer,
        ["client_reference_id"] = session.ClientReferenceId, ["status"] = session.SubscriptionId is null ? "open" : "complete",
        ["payment_status"] = session.SubscriptionId is null ? "unpaid" : "paid", ["subscription"] = session.SubscriptionId,
        ["url"] = session.SubscriptionId is null ? new Uri(BaseAddress, $"c/pay/{session.Id}").ToString() : null,
        ["success_url"] = session.SuccessUrl, ["created"] = NowUnix, ["livemode"] = false, ["metadata"] = new JsonObject(),
    };

    private JsonObject SubscriptionJson(FakeSubscription subscription)
    {
        FakeSubscription s;
        lock (_gate) s = subscription;
        var items = new JsonArray();
        foreach (var price in s.Prices)
        {
            items.Add(new JsonObject
            {
                ["id"] = $"si_{s.Id[4..]}_{price}", ["object"] = "subscription_item", ["subscription"] = s.Id, ["quantity"] = 1,
                ["current_period_start"] = s.PeriodStart, ["current_period_end"] = s.PeriodEnd, ["created"] = s.Created,
                ["price"] = new JsonObject { ["id"] = price, ["object"] = "price", ["currency"] = "usd", ["active"] = true },
            });
        }

        return new JsonObject
        {
            ["id"] = s.Id, ["object"] = "subscription", ["customer"] = s.Customer, ["status"] = s.Status, ["cancel_at_period_end"] = s.CancelAtPeriodEnd,
            ["created"] = s.Created, ["start_date"] = s.Created, ["currency"] = "usd", ["livemode"] = false, ["metadata"] = Json(s.Metadata),
            ["items"] = new JsonObject { ["object"] = "list", ["data"] = items, ["has_more"] = false, ["url"] = $"/v1/subscription_items?subscription={s.Id}" },
        };
    }

    private static JsonObject InvoiceJson(FakeInvoice invoice, FakeSubscription subscription)
    {
        var lines = new JsonArray();
        foreach (var line in invoice.Lines)
        {
            lines.Add(new JsonObject
            {
                ["id"] = $"il_{invoice.Id[3..]}_{line.PriceId}", ["object"] = "line_item", ["amount"] = line.Amount, ["currency"] = "usd",
                ["description"] = line.Description, ["quantity"] = line.Quantity, ["invoice"] = invoice.Id,
                ["period"] = new JsonObject { ["start"] = line.PeriodStart, ["end"] = line.PeriodEnd },
                ["pricing"] = new JsonObject
                {
                    ["type"] = "price_details", ["unit_amount_decimal"] = line.UnitAmountDecimal.ToString(CultureInfo.InvariantCulture),
                    ["price_details"] = new JsonObject { ["price"] = line.PriceId, ["product"] = "prod_" + line.PriceId },
                },
            });
        }

        return new JsonObject
        {
            ["id"] = invoice.Id, ["object"] = "invoice", ["customer"] = invoice.Customer, ["number"] = invoice.Number, ["status"] = invoice.Status,
            ["currency"] = "usd", ["amount_due"] = invoice.Total, ["amount_paid"] = invoice.AmountPaid, ["amount_remaining"] = invoice.Total - invoice.AmountPaid,
            ["subtotal"] = invoice.Total, ["total"] = invoice.Total, ["period_start"] = invoice.PeriodStart, ["period_end"] = invoice.PeriodEnd,
            ["created"] = invoice.Created, ["livemode"] = false, ["attempted"] = invoice.Status != "draft",
            ["hosted_invoice_url"] = $"https://invoice.stripe.test/{invoice.Id}",
            ["billing_reason"] = "subscription_cycle",
            ["parent"] = new JsonObject
            {
                ["type"] = "subscription_details",
                ["subscription_details"] = new JsonObject { ["subscription"] = subscription.Id, ["metadata"] = Json(subscription.Metadata) },
            },
            ["lines"] = new JsonObject { ["object"] = "list", ["data"] = lines, ["has_more"] = false, ["url"] = $"/v1/invoices/{invoice.Id}/lines" },
        };
    }

    /// <summary><c>metadata[key]=value</c> pairs under <paramref name="prefix"/>.</summary>
    private static Dictionary<string, string> Nested(Dictionary<string, string> form, string prefix) =>
        form.Where(f => f.Key.StartsWith(prefix + "[", StringComparison.Ordinal) && f.Key.EndsWith(']'))
            .ToDictionary(f => f.Key[(prefix.Length + 1)..^1], f => f.Value, StringComparer.Ordinal);

    private static JsonObject Json(IReadOnlyDictionary<string, string> values) => new(values.Select(v => KeyValuePair.Create(v.Key, (JsonNode?)JsonValue.Create(v.Value))));
}
