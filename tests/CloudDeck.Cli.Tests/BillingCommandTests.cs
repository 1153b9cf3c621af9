using CloudDeck.Testing.Stripe;

namespace CloudDeck.Cli.Tests;

/// <summary><c>deck billing</c> against the real API process with billing on, pointed at the Stripe fake in this process.</summary>
public sealed class BillingCommandTests : DeckProcessTest
{
    [Fact]
    public async Task Stripe_fake_deck_billing_upgrade_prints_the_checkout_link_and_status_shows_the_paid_plan_once_Stripe_confirms()
    {
        await using var stripe = await StripeFake.StartAsync();
        var api = await StartApiAsync(stripe.Environment());
        stripe.WebhookUrl = new Uri(api.BaseAddress, "api/v1/billing/stripe/webhook");
        var user = await LoggedInAsync(api, "payer@example.com");

        var status = (await Billing(api, "billing", "status")).Expect(0);
        Assert.Contains(status.Stdout, line => line.Contains("plan", StringComparison.Ordinal) && line.Contains("hobby", StringComparison.Ordinal));

        var upgrade = (await Billing(api, "billing", "upgrade", "pro", "--org", user.Organization, "--no-open")).Expect(0);
        var url = Assert.Single(upgrade.Stdout, line => line.StartsWith("pay at Stripe Checkout: ", StringComparison.Ordinal))["pay at Stripe Checkout: ".Length..];
        Assert.StartsWith(stripe.BaseAddress.ToString(), url, StringComparison.Ordinal);

        await stripe.CompleteCheckoutAsync(url);
        status = (await Billing(api, "billing", "status", "--org", user.Organization)).Expect(0);
        Assert.Contains(status.Stdout, line => line.Contains("plan", StringComparison.Ordinal) && line.Contains("pro", StringComparison.Ordinal));
        Assert.Contains(status.Stdout, line => line.Contains("subscription", StringComparison.Ordinal) && line.Contains("active", StringComparison.Ordinal));

        var portal = (await Billing(api, "billing", "portal", "--no-open")).Expect(0);
        Assert.Contains(portal.Stdout, line => line.StartsWith("Stripe's portal: " + stripe.BaseAddress, StringComparison.Ordinal));

        // A paid plan this installation does not sell is refused, naming the field.
        var refused = (await Billing(api, "billing", "upgrade", "gold", "--no-open")).Expect(1);
        Assert.Contains(refused.Stderr, line => line.Contains("plan", StringComparison.Ordinal));
    }

    private Task<DeckRun> Billing(CloudDeck.Api.Tests.ApiHost api, params string[] args) =>
        Deck(args, Work, new Dictionary<string, string?> { ["CLOUDDECK_API"] = api.BaseAddress.ToString() });
}
