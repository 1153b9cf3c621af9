using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Testing;
using CloudDeck.Testing.Stripe;
using static CloudDeck.Api.Tests.Billing.BillingHost;

namespace CloudDeck.Api.Tests.Billing;

/// <summary>
/// Billing end to end against the Stripe fake (Stripe cannot be reached from here): Stripe.net talks to it over HTTP, and
/// it posts signed webhooks to the API on Kestrel.
/// </summary>
public sealed class StripeBillingTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stripe_fake_upgrade_through_checkout_gives_the_paid_plans_quotas_only_once_Stripe_confirms_and_a_downgrade_waits_for_the_period_end()
    {
        await using var host = await StartAsync();
        Assert.Equal("hobby", await host.PlanAsync());
        // With billing on, owners no longer set the plan by hand.
        (await host.Api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{host.Org}/plan", new { plan = "pro" }, host.Owner.AccessToken)).Expect(HttpStatusCode.Conflict);

        var link = (await host.Api.PostAsync($"/api/v1/orgs/{host.Org}/billing/upgrade", new { plan = "pro" }, host.Owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.StartsWith(host.Stripe.BaseAddress.ToString(), Field(link, "url")!.GetValue<string>(), StringComparison.Ordinal);
        // Asking is not paying: nothing changes until Stripe says the checkout completed.
        Assert.Equal("hobby", await host.PlanAsync());

        var subscription = await host.Stripe.CompleteCheckoutAsync(Field(link, "url")!.GetValue<string>());
        var quotas = await host.QuotasAsync();
        Assert.Equal("pro", Field(quotas, "plan")!.GetValue<string>());
        Assert.Equal(3, Field(quotas, "limits")!.AsArray().Single(l => Field(l!, "limit")!.GetValue<string>() == "concurrent_builds")!["maximum"]!.GetValue<long>());
        var status = await host.StatusAsync();
        Assert.Equal("active", Field(status, "subscription_status")!.GetValue<string>());
        Assert.Equal("good", Field(status, "payment_state")!.GetValue<string>());

        // Upgrading again goes to the portal's plan change, since a subscription exists.
        var again = (await host.Api.PostAsync($"/api/v1/orgs/{host.Org}/billing/upgrade", new { plan = "team" }, host.Owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal("portal", Field(again, "kind")!.GetValue<string>());

        var downgrade = (await host.Api.PostAsync($"/api/v1/orgs/{host.Org}/billing/downgrade", null, host.Owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.True(Field(downgrade, "cancel_at_period_end")!.GetValue<bool>());
        Assert.True(host.Stripe.Subscription(subscription.Id).CancelAtPeriodEnd);
        await host.Stripe.DeliverPendingAsync();
        Assert.Equal("pro", await host.PlanAsync());

        await host.Stripe.EndPeriodAsync(subscription.Id);
        Assert.Equal("hobby", await host.PlanAsync());
        Assert.Equal(["hobby -> pro (Stripe subscription " + subscription.Id + " active)", "pro -> hobby (Stripe subscription " + subscription.Id + " canceled)"],
            await host.AuditTargetsAsync("organization.plan_changed"));
        var actions = await host.AuditActionsAsync();
        Assert.Contains("billing.checkout_started", actions);
        Assert.Contains("billing.downgrade_scheduled", actions);
    }

    [Fact]
    public async Task Stripe_fake_the_same_webhook_twice_is_applied_once_deliveries_out_of_order_converge_and_a_forged_signature_changes_nothing()
    {
        await using var host = await StartAsync();
        var subscription = await host.SubscribeAsync("pro");
        Assert.Equal("pro", await host.PlanAsync());

        host.Stripe.HoldWebhooks = true;
        await host.Stripe.ChangeBasePriceAsync(subscription.Id, StripeFake.TeamPrice);
        var toTeam = host.Stripe.Events[^1];
        host.Api.Clock.Advance(TimeSpan.FromSeconds(10));
        await host.Stripe.ChangeBasePriceAsync(subscription.Id, StripeFake.ProPrice);
        var backToPro = host.Stripe.Events[^1];

        // Stripe's latest state is pro. Delivered newest first, the older change to team must change nothing.
        Assert.Equal(HttpStatusCode.OK, await host.Stripe.DeliverAsync(backToPro));
        Assert.Equal(HttpStatusCode.OK, await host.Stripe.DeliverAsync(toTeam));
        Assert.Equal("pro", await host.PlanAsync());
        var changes = await host.AuditTargetsAsync("billing.subscription_changed");
        Assert.Equal(HttpStatusCode.OK, await host.Stripe.DeliverAsync(backToPro));
        Assert.Equal(changes, await host.AuditTargetsAsync("billing.subscription_changed"));

        host.Api.Clock.Advance(TimeSpan.FromSeconds(10));
        await host.Stripe.ChangeBasePriceAsync(subscription.Id, StripeFake.TeamPrice);
        var upgrade = host.Stripe.Events[^1];
        // A wrong secret, no signature, a signature from more than 300 s ago, a header that is not Stripe's: 400, and no change.
        Assert.Equal(HttpStatusCode.BadRequest, await host.Stripe.DeliverAsync(upgrade, secret: "whsec_forged000000000000"));
        Assert.Equal(HttpStatusCode.BadRequest, await host.Stripe.DeliverAsync(upgrade, signedAt: host.Api.Clock.GetUtcNow().AddSeconds(-301)));
        Assert.Equal(HttpStatusCode.BadRequest, await host.Stripe.DeliverAsync(upgrade, signatureHeader: "v1=deadbeef"));
        var unsigned = await host.Api.PostAsync("/api/v1/billing/stripe/webhook", upgrade.Payload);
        unsigned.Expect(HttpStatusCode.BadRequest);
        Assert.Contains("Stripe-Signature", unsigned.Body, StringComparison.Ordinal);
        Assert.Equal("pro", await host.PlanAsync());

        Assert.Equal(HttpStatusCode.OK, await host.Stripe.DeliverAsync(upgrade));
        Assert.Equal("team", await host.PlanAsync());
        Assert.Equal(["hobby -> pro", "pro -> team"], (await host.AuditTargetsAsync("organization.plan_changed")).Select(t => t[..t.IndexOf(" (", StringComparison.Ordinal)]));
    }

    [Fact]
    public async Task Stripe_fake_a_failed_payment_starts_a_grace_period_then_the_free_plan_at_its_end_and_a_payment_restores_the_plan_with_notices_and_audit()
    {
        await using var host = await StartAsync(new Dictionary<string, string?> { ["CloudDeck:Billing:DunningCheckPeriod"] = "00:00:01" });
        var subscription = await host.SubscribeAsync("pro");
        var failed = await host.Stripe.EndPeriodAsync(subscription.Id, paymentSucceeds: false);

        var status = await host.StatusAsync();
        Assert.Equal("grace", Field(status, "payment_state")!.GetValue<string>());
        Assert.Equal("pro", await host.PlanAsync());
        Assert.Contains(await Outbox(host), m => m.Kind == OutboxKinds.BillingPaymentFailed);

        // Six days on: still in grace.
        host.Api.Clock.Advance(TimeSpan.FromDays(6));
        await host.Api.LoginAsync(host.Owner);
        await Task.Delay(TimeSpan.FromSeconds(3), Cancellation);
        Assert.Equal("pro", await host.PlanAsync());

        // Past the seventh day the reminder (every second here) notices, with no call to the organization.
        host.Api.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await host.Api.LoginAsync(host.Owner);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(await Outbox(host)).Any(m => m.Kind == OutboxKinds.BillingSuspended))
        {
            Assert.True(DateTime.UtcNow < deadline, "The grace period's reminder did not end the grace period.");
            await Task.Delay(200, Cancellation);
        }

        Assert.Equal("hobby", await host.PlanAsync());
        Assert.Equal("suspended", Field(await host.StatusAsync(), "payment_state")!.GetValue<string>());

        await host.Stripe.PayInvoiceAsync(failed.Id);
        Assert.Equal("pro", await host.PlanAsync());
        Assert.Equal("good", Field(await host.StatusAsync(), "payment_state")!.GetValue<string>());
        Assert.Contains(await Outbox(host), m => m.Kind == OutboxKinds.BillingRestored);

        var actions = await host.AuditActionsAsync();
        string[] steps = ["billing.payment_failed", "billing.grace_started", "billing.grace_ended", "organization.plan_changed", "billing.payment_succeeded", "organization.plan_changed"];
        var after = actions.SkipWhile(a => a != "billing.payment_failed").Where(steps.Contains).ToList();
        Assert.Equal(steps, after);
        Assert.Equal(["hobby -> pro", "pro -> hobby", "hobby -> pro"], (await host.AuditTargetsAsync("organization.plan_changed")).Select(t => t[..t.IndexOf(" (", StringComparison.Ordinal)]));
    }

    [Fact]
    public async Task Stripe_fake_replaying_Stripes_wire_format_an_invoice_payment_failed_webhook_posts_a_signed_payment_failed_event_to_the_organizations_webhook_rule()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = await StartAsync(new Dictionary<string, string?> { ["CloudDeck:Notifications:AllowPrivateWebhookTargets"] = "true" });
        // Signatures' timestamps come from the API's manual clock, which the receiver shares, as a real receiver's clock agrees.
        receiver.Clock = host.Api.Clock;
        var rule = (await host.Api.PostAsync($"/api/v1/orgs/{host.Org}/notifications", new { channel = "webhook", events = new[] { "payment.failed" }, url = receiver.Url.AbsoluteUri },
            host.Owner.AccessToken)).Expect(HttpStatusCode.Created);
        receiver.Secret = rule.Text("secret");
        var subscription = await host.SubscribeAsync("pro");

        // The fake posts invoice.finalized then invoice.payment_failed, signed, to the API's Stripe webhook endpoint.
        var failed = await host.Stripe.EndPeriodAsync(subscription.Id, paymentSucceeds: false);

        var hook = Assert.Single(await receiver.WaitForSuccessesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.True(hook.SignatureValid, $"the signature {hook.Headers.GetValueOrDefault(WebhookHeaders.Signature)} did not verify");
        var body = JsonNode.Parse(hook.Body)!;
        Assert.Equal(("payment.failed", host.Org, null), (body.Text("type"), body.Text("organization"), body["project"]?.GetValue<string>()));
        Assert.Equal(hook.Headers[WebhookHeaders.EventId], body.Text("id"));
        var data = body["data"]!;
        Assert.Equal(failed.Id, data.Text("invoice_id"));
        Assert.False(string.IsNullOrEmpty(data.Text("amount_due")));
        var status = await host.StatusAsync();
        Assert.Equal("grace", Field(status, "payment_state")!.GetValue<string>());
        Assert.Equal(Field(status, "grace_ends_at")!.GetValue<DateTimeOffset>(), DateTimeOffset.Parse(data.Text("grace_ends_at"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Stripe_fake_the_upcoming_invoice_computed_from_the_meters_equals_Stripes_invoice_to_the_cent_and_exports_as_csv()
    {
        await using var host = await StartAsync();
        var subscription = await host.SubscribeAsync("pro");
        var token = (await host.Api.PostAsync("/api/v1/me/tokens", new { name = "sdk", scopes = new[] { "deploy" } }, host.Owner.AccessToken)).Expect(HttpStatusCode.Created);
        var sdk = Field(token, "token")!.GetValue<string>();
        // Quantities that round: 1,234,567,891 bytes is 2 GB started; byte-hours over 730 GB-hours round up too.
        object[] events =
        [
            new { id = "b1", kind = "build_minutes", quantity = 37 },
            new { id = "b2", kind = "build_minutes", quantity = 5 },
            new { id = "b2", kind = "build_minutes", quantity = 5 }, // a retry: counted once
            new { id = "e1", kind = "edge_bytes_served", quantity = 1_234_567_891L },
            new { id = "s1", kind = "storage_byte_hours", quantity = 2_000_000_000_000L },
            new { id = "x1", kind = "analytics.page_view", quantity = 9 }, // not billed
        ];
        (await host.Api.PostAsync("/api/v1/usage/events", new { org = host.Org, events }, sdk)).Expect(HttpStatusCode.Accepted);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            await host.Billing.ReportUsage();
            var reporting = Field(await host.StatusAsync(), "usage_reporting")!;
            if (Field(reporting, "meter_sequence")!.GetValue<long>() > 0 && Field(reporting, "meter_sequence")!.GetValue<long>() == Field(reporting, "reported_sequence")!.GetValue<long>()
                && Field(reporting, "pending_meter_events")!.GetValue<int>() == 0) break;
            Assert.True(DateTime.UtcNow < deadline, "Usage did not reach the Stripe fake.");
            await Task.Delay(100, Cancellation);
        }

        var upcoming = (await host.Api.GetAsync($"/api/v1/orgs/{host.Org}/billing/invoices/upcoming", host.Owner.AccessToken)).Expect(HttpStatusCode.OK);
        var amount = Field(upcoming, "amount_due")!.GetValue<long>();
        // $20 base + 42 minutes × 5¢ + 2 GB × 10¢ + ⌈2000/730⌉ = 3 GB-months × 2¢.
        Assert.Equal(2000 + 210 + 20 + 6, amount);
        Assert.Equal(42, host.Stripe.MeterEvents.Where(e => e.EventName == "clouddeck_build_minutes").Sum(e => e.Value));

        var invoice = await host.Stripe.EndPeriodAsync(subscription.Id);
        Assert.Equal(invoice.Total, amount);

        var page = (await host.Api.GetAsync($"/api/v1/orgs/{host.Org}/billing/invoices?limit=1", host.Owner.AccessToken)).Expect(HttpStatusCode.OK);
        var newest = Field(page, "items")!.AsArray().Single()!;
        Assert.Equal(invoice.Id, Field(newest, "id")!.GetValue<string>());
        Assert.Equal(invoice.Total, Field(newest, "amount_paid")!.GetValue<long>());
        Assert.Equal(4, Field(newest, "lines")!.AsArray().Count);
        var second = (await host.Api.GetAsync($"/api/v1/orgs/{host.Org}/billing/invoices?limit=1&cursor={Field(page, "next_cursor")!.GetValue<string>()}", host.Owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Null(Field(second, "next_cursor"));

        var invoicesCsv = await host.Api.GetAsync($"/api/v1/orgs/{host.Org}/billing/invoices.csv", host.Owner.AccessToken);
        Assert.Equal("text/csv", invoicesCsv.MediaType);
        Assert.Contains($"{invoice.Id},{invoice.Number},paid,usd,22.36,22.36,", invoicesCsv.Body, StringComparison.Ordinal);
        var usageCsv = await host.Api.GetAsync($"/api/v1/orgs/{host.Org}/billing/usage.csv", host.Owner.AccessToken);
        var today = host.Api.Clock.GetUtcNow().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var header = usageCsv.Body.Split('\n')[0].Split(',');
        var row = usageCsv.Body.Split('\n').Single(l => l.StartsWith(today, StringComparison.Ordinal)).Split(',');
        Assert.Equal("42", row[Array.IndexOf(header, "build_minutes")]);
        Assert.Equal("9", row[Array.IndexOf(header, "analytics.page_view")]);
    }

    [Fact]
    public async Task Without_Stripe_settings_billing_is_off_its_routes_answer_409_the_webhook_404_and_owners_set_the_plan()
    {
        await using var api = new Accounts.InProcessApi();
        var owner = await api.SignUpAndLoginAsync("owner@nobilling.test", verifyEmail: true);
        var org = owner.PersonalOrganization;
        var status = (await api.GetAsync($"/api/v1/orgs/{org}/billing", owner.AccessToken)).Expect(HttpStatusCode.Conflict);
        Assert.Contains("CloudDeck:Billing:Stripe:SecretKey", status["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        (await api.PostAsync($"/api/v1/orgs/{org}/billing/upgrade", new { plan = "pro" }, owner.AccessToken)).Expect(HttpStatusCode.Conflict);
        // Existence still does not leak: a stranger gets 404 before being told billing is off.
        var stranger = await api.SignUpAndLoginAsync("stranger@nobilling.test", verifyEmail: true);
        (await api.GetAsync($"/api/v1/orgs/{org}/billing", stranger.AccessToken)).Expect(HttpStatusCode.NotFound);
        (await api.PostAsync("/api/v1/billing/stripe/webhook", "{}")).Expect(HttpStatusCode.NotFound);
        (await api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/plan", new { plan = "pro" }, owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal("pro", (await api.GetAsync($"/api/v1/orgs/{org}/quotas", owner.AccessToken)).Expect(HttpStatusCode.OK)["plan"]!.GetValue<string>());
    }

    private static Task<IReadOnlyList<OutboxMessage>> Outbox(BillingHost host) => host.Api.Grains.GetGrain<IOutboxGrain>(host.Owner.Email).List();
}
