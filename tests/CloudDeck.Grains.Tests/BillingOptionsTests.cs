using CloudDeck.Grains.Billing;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Tests;

public sealed class BillingOptionsTests
{
    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["CloudDeck:Billing:Stripe:SecretKey"] = "sk_test_0123456789abcdef",
        ["CloudDeck:Billing:Stripe:WebhookSecret"] = "whsec_0123456789",
        ["CloudDeck:Billing:Plans:Pro:PriceId"] = "price_pro",
        ["CloudDeck:Billing:Plans:Team:PriceId"] = "price_team",
        ["CloudDeck:Billing:Usage:build_minutes:PriceId"] = "price_minutes",
        ["CloudDeck:Billing:Usage:edge_bytes_served:PriceId"] = "price_bytes",
        ["CloudDeck:Billing:Usage:storage_byte_hours:PriceId"] = "price_storage",
    };

    private static BillingOptions Read(IDictionary<string, string?> settings) =>
        BillingOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());

    [Fact]
    public void Billing_is_off_without_a_Stripe_key_and_on_with_the_seeds_prices_as_defaults()
    {
        Assert.False(Read(new Dictionary<string, string?>()).Enabled);
        var options = Read(Valid);
        Assert.True(options.Enabled);
        Assert.Equal(20.00m, options.Plans["pro"].Amount);
        Assert.Equal(100.00m, options.Plans["team"].Amount);
        Assert.DoesNotContain("enterprise", options.Plans.Keys);
        Assert.Equal("usd", options.Currency);
        Assert.Equal(new MeteredPrice("build_minutes", "price_minutes", "clouddeck_build_minutes", 0.05m, 1, true), options.Metered["build_minutes"]);
        Assert.Equal(0.10m, options.Metered["edge_bytes_served"].UnitAmount);
        Assert.Equal(1_000_000_000, options.Metered["edge_bytes_served"].PackageSize);
        Assert.Equal(TimeSpan.FromDays(7), options.GracePeriod);
        Assert.Equal("pro", options.PlanOfPrice("price_pro"));
        Assert.Null(options.PlanOfPrice("price_minutes"));
    }

    [Theory]
    [InlineData("CloudDeck:Billing:Stripe:WebhookSecret", null, "CloudDeck:Billing:Stripe:WebhookSecret is required")]
    [InlineData("CloudDeck:Billing:Stripe:WebhookSecret", "secret", "whsec_")]
    [InlineData("CloudDeck:Billing:Stripe:SecretKey", "pk_live_abcdefghij", "CloudDeck:Billing:Stripe:SecretKey must be a Stripe secret")]
    [InlineData("CloudDeck:Billing:Plans:Pro:PriceId", null, "CloudDeck:Billing:Plans:Pro:PriceId is required")]
    [InlineData("CloudDeck:Billing:Plans:Pro:Amount", "twenty", "CloudDeck:Billing:Plans:Pro:Amount must be an amount")]
    [InlineData("CloudDeck:Billing:Usage:build_minutes:PriceId", null, "CloudDeck:Billing:Usage:build_minutes:PriceId is required")]
    [InlineData("CloudDeck:Billing:Usage:build_minutes:PackageSize", "0", "CloudDeck:Billing:Usage:build_minutes:PackageSize")]
    [InlineData("CloudDeck:Billing:Usage:build_minutes:Rounding", "nearest", "must be up or down")]
    [InlineData("CloudDeck:Billing:Currency", "jpy", "CloudDeck:Billing:Currency must be a currency with cents")]
    [InlineData("CloudDeck:Billing:GracePeriod", "-1.00:00:00", "CloudDeck:Billing:GracePeriod must be a time span")]
    [InlineData("CloudDeck:Billing:Stripe:ApiBase", "ftp://stripe", "CloudDeck:Billing:Stripe:ApiBase must be an absolute http(s) URL")]
    [InlineData("CloudDeck:Billing:Usage:edge_bytes_served:PriceId", "price_minutes", "price_minutes twice")]
    public void A_wrong_billing_setting_stops_the_start_with_a_message_naming_it(string setting, string? value, string message)
    {
        var settings = new Dictionary<string, string?>(Valid) { [setting] = value };
        var refused = Assert.Throws<InvalidOperationException>(() => Read(settings));
        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_usage_kind_can_be_left_unbilled()
    {
        var settings = new Dictionary<string, string?>(Valid)
        {
            ["CloudDeck:Billing:Usage:storage_byte_hours:PriceId"] = null,
            ["CloudDeck:Billing:Usage:storage_byte_hours:Billed"] = "false",
        };
        Assert.DoesNotContain("storage_byte_hours", Read(settings).Metered.Keys);
    }

    [Theory]
    [InlineData(0L, 1L, true, 0L)]
    [InlineData(1L, 1_000_000_000L, true, 1L)]
    [InlineData(1_000_000_000L, 1_000_000_000L, true, 1L)]
    [InlineData(1_999_999_999L, 1_000_000_000L, false, 1L)]
    public void Quantities_divide_by_the_package_and_round_as_the_price_says(long usage, long package, bool roundUp, long quantity) =>
        Assert.Equal(quantity, StripeAmounts.Quantity(usage, new MeteredPrice("k", "p", "e", 1m, package, roundUp)));

    [Theory]
    [InlineData(3L, 0.005, 2L)] // 1.5 cents: half away from zero
    [InlineData(1L, 0.004, 0L)]
    [InlineData(42L, 0.05, 210L)]
    public void Line_amounts_round_to_the_cent_with_halves_away_from_zero(long quantity, double unitAmount, long cents) =>
        Assert.Equal(cents, StripeAmounts.LineAmount(quantity, (decimal)unitAmount));
}
