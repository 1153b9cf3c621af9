using System.Globalization;
using System.Text.RegularExpressions;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Usage;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Billing;

/// <summary>A paid plan's Stripe price: a flat amount per month, billed in advance.</summary>
public sealed record PlanPrice(string Plan, string PriceId, decimal Amount);

/// <summary>
/// A usage kind's Stripe price: meter events named <see cref="EventName"/> carry the raw usage; Stripe divides a period's
/// sum by <see cref="PackageSize"/> (its <c>transform_quantity</c>, rounded up or down) and charges <see cref="UnitAmount"/> per package.
/// </summary>
public sealed record MeteredPrice(string Kind, string PriceId, string EventName, decimal UnitAmount, long PackageSize, bool RoundUp);

/// <summary>
/// Settings under <c>CloudDeck:Billing</c>. Billing is off unless <c>CloudDeck:Billing:Stripe:SecretKey</c> is set; then
/// every organization's plan is what its Stripe subscription pays for. Validated at start: a wrong setting stops the
/// process with a message naming it.
/// </summary>
public sealed partial class BillingOptions
{
    public const string Section = "CloudDeck:Billing";

    /// <summary>The Stripe API version Stripe.net 53.1.0 speaks, and the one the test's Stripe fake follows.</summary>
    public const string StripeApiVersion = "2026-10-28.endive";

    /// <summary>The seed's prices (a plan's base price per month; usage per unit), each replaceable by a setting.</summary>
    public static readonly IReadOnlyDictionary<string, decimal> DefaultPlanAmounts = new Dictionary<string, decimal>(StringComparer.Ordinal)
    {
        [PlanNames.Pro] = 20.00m,
        [PlanNames.Team] = 100.00m,
    };

    /// <summary>Compute minutes $0.05 each, bandwidth $0.10 per GB, storage $0.02 per GB-month (730 hours).</summary>
    public static readonly IReadOnlyList<MeteredPrice> DefaultMeteredPrices =
    [
        new(UsageKinds.BuildMinutes, "", "clouddeck_build_minutes", 0.05m, 1, RoundUp: true),
        new(UsageKinds.EdgeBytesServed, "", "clouddeck_edge_bytes_served", 0.10m, 1_000_000_000, RoundUp: true),
        new(UsageKinds.StorageByteHours, "", "clouddeck_storage_byte_hours", 0.02m, 730_000_000_000, RoundUp: true),
    ];

    /// <summary>Currencies without a minor unit: amounts here are in cents, so they are refused.</summary>
    private static readonly string[] ZeroDecimalCurrencies = ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];

    public bool Enabled => !string.IsNullOrEmpty(SecretKey);

    /// <summary><c>CloudDeck:Billing:Stripe:SecretKey</c>: a secret API key (sk_live_… or sk_test_…, or a restricted rk_…).</summary>
    public string? SecretKey { get; init; }

    /// <summary><c>CloudDeck:Billing:Stripe:WebhookSecret</c>: the webhook endpoint's signing secret (whsec_…).</summary>
    public string? WebhookSecret { get; init; }

    /// <summary><c>CloudDeck:Billing:Stripe:ApiBase</c>: where Stripe's API is (tests point it at the Stripe fake).</summary>
    public Uri ApiBase { get; init; } = new("https://api.stripe.com");

    /// <summary>Webhook timestamps older (or newer) than this are refused, as Stripe.net's default (300 s).</summary>
    public long WebhookToleranceSeconds { get; init; } = 300;

    /// <summary>ISO 4217, lowercase, a currency with cents.</summary>
    public string Currency { get; init; } = "usd";

    /// <summary>By plan name (pro, team, enterprise): the plans Checkout sells.</summary>
    public IReadOnlyDictionary<string, PlanPrice> Plans { get; init; } = new Dictionary<string, PlanPrice>();

    /// <summary>By usage kind.</summary>
    public IReadOnlyDictionary<string, MeteredPrice> Metered { get; init; } = new Dictionary<string, MeteredPrice>();

    /// <summary>How long a failed payment keeps the paid plan.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How often a grace period's reminder looks at the clock; the fall to the free plan comes at most this late.</summary>
    public TimeSpan DunningCheckPeriod { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How often an active billing grain reports new usage; after a restart its reminder (every minute at least) brings it back.</summary>
    public TimeSpan UsageReportInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Meter events sent per state write: a crash resends at most this many, which Stripe skips by identifier.</summary>
    public int MeterEventsPerWrite { get; init; } = 50;

    /// <summary>Where Checkout and the portal send the customer back; <c>{org}</c> becomes the organization's slug.</summary>
    public string ReturnUrl { get; init; } = "http://localhost:8080/orgs/{org}/billing";

    public PlanPrice? PriceOf(string plan) => Plans.GetValueOrDefault(plan);

    /// <summary>The plan a price belongs to, or null for a metered (or unknown) price.</summary>
    public string? PlanOfPrice(string priceId) => Plans.Values.FirstOrDefault(p => p.PriceId == priceId)?.Plan;

    public string ReturnUrlFor(string organization) => ReturnUrl.Replace("{org}", Uri.EscapeDataString(organization), StringComparison.Ordinal);

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it and shows an example.</exception>
    public static BillingOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var stripe = section.GetSection("Stripe");
        var secretKey = Blank(stripe["SecretKey"]);
        if (secretKey is null)
        {
            // Off: the rest may be set (a staged configuration) but nothing reads it.
            return new BillingOptions();
        }

        if (!ApiKeyPattern().IsMatch(secretKey)) throw Invalid("Stripe:SecretKey", "must be a Stripe secret or restricted key such as sk_live_… or rk_live_…");
        var webhookSecret = Blank(stripe["WebhookSecret"]) ?? throw Invalid("Stripe:WebhookSecret", "is required when billing is on: the signing secret of the webhook endpoint that Stripe shows (whsec_…)");
        if (!webhookSecret.StartsWith("whsec_", StringComparison.Ordinal)) throw Invalid("Stripe:WebhookSecret", "must be a webhook signing secret such as whsec_…");
        var apiBase = Blank(stripe["ApiBase"]) ?? "https://api.stripe.com";
        if (!Uri.TryCreate(apiBase, UriKind.Absolute, out var apiUri) || apiUri.Scheme is not ("http" or "https"))
        {
            throw Invalid("Stripe:ApiBase", $"must be an absolute http(s) URL such as https://api.stripe.com (was '{apiBase}')");
        }

        var currency = Blank(section["Currency"]) ?? "usd";
        if (!CurrencyPattern().IsMatch(currency)) throw Invalid("Currency", $"must be a lowercase ISO 4217 code such as usd (was '{currency}')");
        if (ZeroDecimalCurrencies.Contains(currency)) throw Invalid("Currency", $"must be a currency with cents such as usd or eur ({currency} has no minor unit)");

        var plans = new Dictionary<string, PlanPrice>(StringComparer.Ordinal);
        foreach (var plan in PlanNames.All.Where(p => p != PlanNames.Default))
        {
            var planSection = section.GetSection($"Plans:{Capitalized(plan)}");
            var priceId = Blank(planSection["PriceId"]);
            var hasDefault = DefaultPlanAmounts.TryGetValue(plan, out var amount);
            if (priceId is null)
            {
                // Enterprise is sold by contract unless a price is set; Pro and Team must be purchasable.
                if (hasDefault) throw Invalid($"Plans:{Capitalized(plan)}:PriceId", $"is required when billing is on: the Stripe price of the {plan} plan's monthly base fee, such as price_1Pro…");
                continue;
            }

            if (planSection["Amount"] is { } amountText) amount = ReadAmount($"Plans:{Capitalized(plan)}:Amount", amountText);
            else if (!hasDefault) throw Invalid($"Plans:{Capitalized(plan)}:Amount", "is required with its PriceId: the monthly amount, such as 500.00");
            plans[plan] = new PlanPrice(plan, CheckPriceId($"Plans:{Capitalized(plan)}:PriceId", priceId), amount);
        }

        var metered = new Dictionary<string, MeteredPrice>(StringComparer.Ordinal);
        var usageSection = section.GetSection("Usage");
        var kinds = DefaultMeteredPrices.Select(p => p.Kind).Union(usageSection.GetChildren().Select(c => c.Key), StringComparer.Ordinal).ToList();
        foreach (var kind in kinds)
        {
            var name = $"Usage:{kind}";
            if (!UsageKinds.IsValid(kind) || kind.Length > 30) throw Invalid(name, "must name a usage kind of at most 30 characters, such as build_minutes");
            var kindSection = usageSection.GetSection(kind);
            if (kindSection["Billed"] is { } billed && bool.TryParse(billed, out var isBilled) && !isBilled) continue;
            var defaults = DefaultMeteredPrices.FirstOrDefault(p => p.Kind == kind);
            var priceId = Blank(kindSection["PriceId"])
                ?? throw Invalid($"{name}:PriceId", $"is required when billing is on: the Stripe metered price for {kind} (or set {Section}:{name}:Billed=false)");
            var eventName = Blank(kindSection["EventName"]) ?? defaults?.EventName ?? $"clouddeck_{kind.Replace('.', '_').Replace('-', '_')}";
            if (!EventNamePattern().IsMatch(eventName)) throw Invalid($"{name}:EventName", "must be the meter's event name: 1–100 letters, digits or _");
            var unitAmount = kindSection["UnitAmount"] is { } unitText ? ReadAmount($"{name}:UnitAmount", unitText) : defaults?.UnitAmount
                ?? throw Invalid($"{name}:UnitAmount", "is required: the price per package in the currency, such as 0.05");
            if (decimal.Round(unitAmount * 100, 12) != unitAmount * 100) throw Invalid($"{name}:UnitAmount", "must have at most 14 decimal places (Stripe keeps 12 decimals of a cent)");
            var packageSize = defaults?.PackageSize ?? 1;
            if (kindSection["PackageSize"] is { } sizeText && (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out packageSize) || packageSize < 1))
            {
                throw Invalid($"{name}:PackageSize", $"must be a whole number of at least 1, such as 1000000000 (was '{sizeText}')");
            }

            var roundUp = defaults?.RoundUp ?? true;
            if (kindSection["Rounding"] is { } rounding)
            {
                roundUp = rounding switch
                {
                    "up" => true,
                    "down" => false,
                    _ => throw Invalid($"{name}:Rounding", $"must be up or down (was '{rounding}')"),
                };
            }

            metered[kind] = new MeteredPrice(kind, CheckPriceId($"{name}:PriceId", priceId), eventName, unitAmount, packageSize, roundUp);
        }

        var options = new BillingOptions
        {
            SecretKey = secretKey,
            WebhookSecret = webhookSecret,
            ApiBase = apiUri,
            Currency = currency,
            Plans = plans,
            Metered = metered,
            GracePeriod = ReadSpan(section, "GracePeriod", TimeSpan.FromDays(7), TimeSpan.FromMinutes(1), "7.00:00:00"),
            DunningCheckPeriod = ReadSpan(section, "DunningCheckPeriod", TimeSpan.FromHours(1), TimeSpan.FromSeconds(1), "01:00:00"),
            UsageReportInterval = ReadSpan(section, "UsageReportInterval", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(100), "00:00:10"),
            WebhookToleranceSeconds = ReadWhole(section, "WebhookToleranceSeconds", 300, 1, 3600),
            MeterEventsPerWrite = (int)ReadWhole(section, "MeterEventsPerWrite", 50, 1, 1000),
            ReturnUrl = Blank(section["ReturnUrl"]) ?? "http://localhost:8080/orgs/{org}/billing",
        };
        if (!Uri.TryCreate(options.ReturnUrlFor("acme"), UriKind.Absolute, out var returnUri) || returnUri.Scheme is not ("http" or "https"))
        {
            throw Invalid("ReturnUrl", $"must be an absolute http(s) URL such as https://deck.example.com/orgs/{{org}}/billing (was '{options.ReturnUrl}')");
        }

        var duplicated = plans.Values.Select(p => p.PriceId).Concat(metered.Values.Select(m => m.PriceId)).GroupBy(p => p).FirstOrDefault(g => g.Count() > 1);
        if (duplicated is not null) throw Invalid("Plans", $"and Usage name the price {duplicated.Key} twice; each plan and usage kind needs a price of its own");
        return options;
    }

    private static string Capitalized(string plan) => char.ToUpperInvariant(plan[0]) + plan[1..];

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string CheckPriceId(string name, string priceId) =>
        priceId.Length <= 100 && IdPattern().IsMatch(priceId) ? priceId : throw Invalid(name, $"must be a Stripe price id such as price_1Abc… (was '{priceId}')");

    private static decimal ReadAmount(string name, string text) =>
        decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) && amount >= 0
            ? amount
            : throw Invalid(name, $"must be an amount in the currency such as 20.00 (was '{text}')");

    private static TimeSpan ReadSpan(IConfigurationSection section, string name, TimeSpan fallback, TimeSpan minimum, string example)
    {
        if (section[name] is not { } text) return fallback;
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) && value >= minimum
            ? value
            : throw Invalid(name, $"must be a time span of at least {minimum}, such as {example} (was '{text}')");
    }

    private static long ReadWhole(IConfigurationSection section, string name, long fallback, long minimum, long maximum)
    {
        if (section[name] is not { } text) return fallback;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= minimum && value <= maximum
            ? value
            : throw Invalid(name, $"must be a whole number from {minimum} to {maximum} (was '{text}')");
    }

    private static InvalidOperationException Invalid(string setting, string problem) => new($"{Section}:{setting} {problem}.");

    [GeneratedRegex("^(sk|rk)_(live|test)_[A-Za-z0-9]{8,}$")]
    private static partial Regex ApiKeyPattern();

    [GeneratedRegex("^[a-z]{3}$")]
    private static partial Regex CurrencyPattern();

    [GeneratedRegex("^[A-Za-z0-9_]{1,100}$")]
    private static partial Regex EventNamePattern();

    [GeneratedRegex("^[A-Za-z0-9_]+$")]
    private static partial Regex IdPattern();
}
