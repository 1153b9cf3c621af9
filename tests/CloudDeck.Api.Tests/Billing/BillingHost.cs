using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Billing;
using CloudDeck.Testing.Stripe;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;

namespace CloudDeck.Api.Tests.Billing;

/// <summary>
/// The API in this process on Kestrel (so the Stripe fake can post webhooks to it), billing on and pointed at a
/// <see cref="StripeFake"/> that shares the API's manual clock, and an owner with a personal organization.
/// </summary>
internal sealed class BillingHost : IAsyncDisposable
{
    private BillingHost(StripeFake stripe, InProcessApi api)
    {
        Stripe = stripe;
        Api = api;
    }

    public StripeFake Stripe { get; }

    public InProcessApi Api { get; }

    public Account Owner { get; private set; } = null!;

    public string Org => Owner.PersonalOrganization;

    public static async Task<BillingHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        // Mid-month, so that a test's period never crosses a month boundary.
        var now = DateTimeOffset.UtcNow;
        var clock = new DateTimeOffset(now.Year, now.Month, 6, 12, 0, 0, TimeSpan.Zero);
        var all = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["CloudDeck:Billing:UsageReportInterval"] = "00:00:00.2",
        };
        var api = new InProcessApi(settings: all, services: services =>
            // Reminders every second, so that the grace period's end is noticed seconds after the manual clock passes it.
            services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1)));
        api.Clock.Set(clock);
        // Stripe's clock is the API's (webhook timestamps, the meter events' window); the settings are read when the host starts.
        var stripe = await StripeFake.StartAsync(api.Clock);
        foreach (var (key, value) in stripe.Settings()) all[key] = value;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        api.UseKestrel(0);
        api.StartServer();
        api.BaseAddress = new Uri(api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        stripe.WebhookUrl = new Uri(api.BaseAddress, "api/v1/billing/stripe/webhook");
        var host = new BillingHost(stripe, api);
        host.Owner = await api.SignUpAndLoginAsync("owner@billing.test", verifyEmail: true);
        return host;
    }

    public IBillingGrain Billing => Api.Grains.GetGrain<IBillingGrain>(Org);

    public async Task<JsonNode> StatusAsync() => (await Api.GetAsync($"/api/v1/orgs/{Org}/billing", Owner.AccessToken)).Expect(HttpStatusCode.OK);

    public async Task<JsonNode> QuotasAsync() => (await Api.GetAsync($"/api/v1/orgs/{Org}/quotas", Owner.AccessToken)).Expect(HttpStatusCode.OK);

    public async Task<string> PlanAsync() => Field(await QuotasAsync(), "plan")!.GetValue<string>();

    /// <summary>Upgrade through Checkout: the link CloudDeck answers, paid at the fake; answers the subscription.</summary>
    public async Task<StripeFake.FakeSubscription> SubscribeAsync(string plan = "pro")
    {
        var link = (await Api.PostAsync($"/api/v1/orgs/{Org}/billing/upgrade", new { plan }, Owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal("checkout", Field(link, "kind")!.GetValue<string>());
        return await Stripe.CompleteCheckoutAsync(Field(link, "url")!.GetValue<string>());
    }

    public async Task<IReadOnlyList<string>> AuditActionsAsync()
    {
        var audit = (await Api.GetAsync($"/api/v1/orgs/{Org}/audit?limit=100", Owner.AccessToken)).Expect(HttpStatusCode.OK);
        return [.. Field(audit, "items")!.AsArray().Select(e => Field(e!, "action")!.GetValue<string>()).Reverse()];
    }

    public async Task<IReadOnlyList<string>> AuditTargetsAsync(string action)
    {
        var audit = (await Api.GetAsync($"/api/v1/orgs/{Org}/audit?limit=100", Owner.AccessToken)).Expect(HttpStatusCode.OK);
        return [.. Field(audit, "items")!.AsArray().Where(e => Field(e!, "action")!.GetValue<string>() == action).Select(e => Field(e!, "target")!.GetValue<string>()).Reverse()];
    }

    /// <summary>A field by its snake_case name, or the camelCase one (the API's JSON naming is moving to snake_case).</summary>
    public static JsonNode? Field(JsonNode node, string snake)
    {
        if (node[snake] is { } found) return found;
        var parts = snake.Split('_');
        return node[parts[0] + string.Concat(parts.Skip(1).Select(p => char.ToUpperInvariant(p[0]) + p[1..]))];
    }

    public async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        await Stripe.DisposeAsync();
    }
}
