using System.Diagnostics;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Billing;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Billing;
using CloudDeck.Grains.Usage;
using CloudDeck.Testing;
using CloudDeck.Testing.Stripe;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Actors.Bench;

/// <summary>
/// Billing against the Stripe fake (a real HTTP server on loopback speaking Stripe's wire format), embedded mode's stores
/// (SQLite grain state). Two figures, each beside a baseline from the same run:
/// meter events reported per second from a backlog (every organization's usage counted, nothing reported yet, then every
/// billing grain's <c>ReportUsage</c> at once: its outbox write, Stripe.net's call, the acknowledgement write), beside the
/// same meter events sent by Stripe.net straight to the fake with the same concurrency; and webhooks applied per second
/// (signature verified by Stripe.net, the event applied by the organization's billing grain, state written), beside
/// Stripe.net's verification alone.
/// </summary>
internal static class BillingBenchmarks
{
    private const int Organizations = 100;
    private const int WebhooksPerOrganization = 20;

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        double reported = 0, direct = 0, applied = 0, verified = 0;
        for (var round = 0; round < options.Rounds; round++)
        {
            var (r, d, a, v) = await RoundAsync();
            (reported, direct, applied, verified) = (Math.Max(reported, r), Math.Max(direct, d), Math.Max(applied, a), Math.Max(verified, v));
        }

        report.Add($"meter events/s reported from a backlog ({Organizations} orgs × 3 kinds)", reported, "Stripe.net meter events straight to the fake, same concurrency", direct);
        report.Add($"webhooks/s verified and applied ({Organizations} orgs, subscription updates)", applied, "Stripe.net's signature check and parse alone", verified);
    }

    private static async Task<(double Reported, double Direct, double Applied, double Verified)> RoundAsync()
    {
        await using var stripe = await StripeFake.StartAsync();
        var directory = Directory.CreateTempSubdirectory("clouddeck-billing-bench-").FullName;
        var settings = stripe.Settings();
        // Nothing reports on its own: the backlog builds until the measured ReportUsage calls.
        settings["CloudDeck:Billing:UsageReportInterval"] = "01:00:00";
        settings["CloudDeck:Accounts:SignUpsPerAddress"] = "0";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        await using var silo = await EmbeddedBenchSilo.StartAsync(directory, configuration, s => s.Services.AddCloudDeckUsage(configuration));
        var grains = silo.GrainFactory;
        var orgs = new List<(string Org, Caller Owner, string Customer, string Subscription)>();
        foreach (var i in Enumerable.Range(0, Organizations))
        {
            var email = $"bench{i}-{Guid.NewGuid():N}"[..24] + "@billing.bench";
            var (owner, org) = await EmbeddedBenchSilo.OwnerAsync(grains, email);
            var billing = grains.GetGrain<IBillingGrain>(org);
            var subscription = await stripe.CompleteCheckoutAsync((await billing.StartUpgrade(owner, "pro")).Url);
            orgs.Add((org, owner, subscription.Customer, subscription.Id));
        }

        foreach (var stripeEvent in stripe.Events) await ApplyAsync(grains, stripeEvent);

        // The backlog: three billed kinds per organization, counted by the meters.
        var streams = silo.Services.GetRequiredService<ILogStreamProvider>();
        var now = DateTimeOffset.UtcNow;
        foreach (var (org, _, _, _) in orgs)
        {
            await streams.GetStream<UsageEvent>(UsageStreams.Namespace, org).AppendBatchAsync(
            [
                new UsageEvent("m", UsageKinds.BuildMinutes, 17, now),
                new UsageEvent("e", UsageKinds.EdgeBytesServed, 3_000_000_000, now),
                new UsageEvent("s", UsageKinds.StorageByteHours, 5_000_000_000, now),
            ]);
        }

        foreach (var (org, _, _, _) in orgs)
        {
            while ((await grains.GetGrain<IUsageMeterGrain>(org).Totals()).Sequence < 1) await Task.Delay(10);
        }

        var clock = Stopwatch.StartNew();
        var sent = (await Task.WhenAll(orgs.Select(o => grains.GetGrain<IBillingGrain>(o.Org).ReportUsage()))).Sum();
        var reported = sent / clock.Elapsed.TotalSeconds;
        if (sent != Organizations * 3) throw new InvalidOperationException($"{sent} meter events reported, {Organizations * 3} expected.");

        // Baseline: the same number of meter events, Stripe.net to the fake, one concurrent sender per organization.
        using var http = new HttpClient();
        var gateway = new StripeNetGateway(silo.Services.GetRequiredService<BillingOptions>(), http);
        clock.Restart();
        await Task.WhenAll(orgs.Select(async o =>
        {
            foreach (var kind in new[] { "build_minutes", "edge_bytes_served", "storage_byte_hours" })
            {
                await gateway.ReportMeterEventAsync(o.Customer, new PendingMeterEvent($"direct-{o.Org}-{kind}", $"clouddeck_{kind}", 1, now), CancellationToken.None);
            }
        }));
        var direct = Organizations * 3 / clock.Elapsed.TotalSeconds;

        // Webhooks: subscription updates, one second apart per organization (each newer than the last, so each applies).
        var events = new List<StripeFake.FakeEvent>();
        var before = stripe.Events.Count;
        for (var n = 0; n < WebhooksPerOrganization; n++)
        {
            foreach (var (_, _, _, subscription) in orgs) await stripe.ChangeBasePriceAsync(subscription, n % 2 == 0 ? StripeFake.TeamPrice : StripeFake.ProPrice);
        }

        events.AddRange(stripe.Events.Skip(before));
        var signed = events.Select(e => (e.Payload, Header: StripeFake.Sign(e.Payload, DateTimeOffset.UtcNow.ToUnixTimeSeconds()))).ToList();
        clock.Restart();
        foreach (var (payload, header) in signed) StripeEvents.Verify(payload, header, StripeFake.WebhookSecret, 300, DateTimeOffset.UtcNow);
        var verified = signed.Count / clock.Elapsed.TotalSeconds;

        // Per organization in order (as Stripe sends an object's events), organizations at once.
        var byOrg = signed.Select((s, i) => (s, Org: orgs[i % Organizations].Org)).GroupBy(x => x.Org).ToList();
        clock.Restart();
        await Task.WhenAll(byOrg.Select(async group =>
        {
            foreach (var (s, org) in group)
            {
                var stripeEvent = StripeEvents.Verify(s.Payload, s.Header, StripeFake.WebhookSecret, 300, DateTimeOffset.UtcNow);
                await grains.GetGrain<IBillingGrain>(org).Apply(stripeEvent);
            }
        }));
        var applied = signed.Count / clock.Elapsed.TotalSeconds;
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return (reported, direct, applied, verified);
    }

    private static async Task ApplyAsync(IGrainFactory grains, StripeFake.FakeEvent stripeEvent)
    {
        var verified = StripeEvents.Verify(stripeEvent.Payload, StripeFake.Sign(stripeEvent.Payload, DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            StripeFake.WebhookSecret, 300, DateTimeOffset.UtcNow);
        if (verified.CustomerId is { } customer && await grains.GetGrain<IBillingCustomerGrain>(customer).GetOrganization() is { } org)
        {
            await grains.GetGrain<IBillingGrain>(org).Apply(verified);
        }
    }
}
