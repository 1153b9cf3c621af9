using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Billing;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Billing;
using CloudDeck.Testing.Stripe;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Cluster.Tests;

/// <summary>Usage reaches Stripe (the Stripe fake) exactly once across silo processes, one of them SIGKILLed.</summary>
public sealed class BillingClusterTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private const int Batches = 100;
    private const int EventsPerBatch = 100;

    [Fact]
    public async Task Stripe_fake_meter_events_sum_exactly_to_10000_usage_events_each_identifier_once_after_the_meters_silo_is_SIGKILLed()
    {
        await using var stripe = await StripeFake.StartAsync();
        var environment = stripe.Environment();
        environment["CloudDeck__Billing__UsageReportInterval"] = "00:00:00.2";
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct, environment);
        var grains = cluster.Grains;

        // An owner and an organization on the paid plan through Checkout, its webhooks applied as the API would apply them.
        var email = $"owner-{Guid.NewGuid():N}"[..20] + "@billing.test";
        var signUp = await grains.GetGrain<IEmailIndexGrain>(email).SignUp(new SignUpRequest(email, "a long password 42", "Owner", "10.0.0.1"));
        var owner = new Caller(signUp!.Account.UserId, email, "10.0.0.1", EmailVerified: true);
        var org = signUp.PersonalOrganization;
        var billing = grains.GetGrain<IBillingGrain>(org);
        var checkout = await billing.StartUpgrade(owner, "pro");
        var subscription = await stripe.CompleteCheckoutAsync(checkout.Url);
        foreach (var stripeEvent in stripe.Events)
        {
            var verified = StripeEvents.Verify(stripeEvent.Payload, StripeFake.Sign(stripeEvent.Payload, DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
                StripeFake.WebhookSecret, 300, DateTimeOffset.UtcNow);
            await billing.Apply(verified);
        }

        Assert.Equal("pro", (await billing.GetStatus(owner)).Plan);

        // The silo holding the organization's meter dies a third of the way through the ingest.
        var meter = grains.GetGrain<IUsageMeterGrain>(org);
        await meter.Totals();
        var meterSilo = await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(meter, Ct);
        var victim = cluster.Silos.Single(silo => silo.Address.Equals(meterSilo));
        var stream = cluster.Services.GetRequiredService<ILogStreamProvider>().GetStream<UsageEvent>(UsageStreams.Namespace, org);
        var time = DateTimeOffset.UtcNow;
        var producer = Task.Run(async () =>
        {
            for (var batch = 0; batch < Batches; batch++)
            {
                UsageEvent[] events = [.. Enumerable.Range(0, EventsPerBatch).Select(i => Event(batch * EventsPerBatch + i, time))];
                await AppendUntilStoredAsync(stream, events);
                if (batch == Batches / 3) victim.Process.Kill(Signal.SIGKILL);
                // An SDK that did not see the answer sends the same batch again: same ids, counted once.
                if (batch % 10 == 3) await AppendUntilStoredAsync(stream, events);
            }
        }, Ct);
        await producer.WaitAsync(Patience, Ct);
        Assert.True(victim.Process.HasExited, "The meter's silo was not killed.");

        var expected = Enumerable.Range(0, Batches * EventsPerBatch).Select(n => Event(n, time))
            .GroupBy(e => e.Kind).ToDictionary(g => g.Key, g => g.Sum(e => e.Quantity));
        var stored = (await stream.GetInfoAsync()).Last;
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                await billing.ReportUsage();
                var meterNow = await meter.Totals();
                var status = await billing.GetStatus(owner);
                if (meterNow.Sequence >= stored && status.UsageReporting.ReportedSequence == meterNow.Sequence && status.UsageReporting.PendingMeterEvents == 0) break;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                // The grain's silo may be the dead one: ask again once the cluster has noticed.
            }

            Assert.True(DateTime.UtcNow < deadline, "Usage did not reach the Stripe fake in time.");
            await Task.Delay(200, Ct);
        }

        var totals = (await meter.Totals()).TotalsByPeriod[BillingPeriods.Of(time)];
        var received = stripe.MeterEvents.Where(e => e.Customer == subscription.Customer).ToList();
        Assert.Equal(received.Count, received.Select(e => e.Identifier).Distinct().Count());
        foreach (var (kind, eventName) in new[] { (UsageKinds.BuildMinutes, "clouddeck_build_minutes"), (UsageKinds.EdgeBytesServed, "clouddeck_edge_bytes_served") })
        {
            Assert.Equal(expected[kind], totals[kind]);
            Assert.Equal(expected[kind], received.Where(e => e.EventName == eventName).Sum(e => e.Value));
        }

        // Analytics events are metered but not billed.
        Assert.DoesNotContain(received, e => e.EventName.Contains("analytics", StringComparison.Ordinal));
        Assert.All(received, e => Assert.StartsWith(org + ".", e.Identifier, StringComparison.Ordinal));
    }

    private static UsageEvent Event(int n, DateTimeOffset time) => (n % 10) switch
    {
        0 => new UsageEvent($"edge-{n}", UsageKinds.EdgeBytesServed, 1_000_000L * (n % 13 + 1), time),
        9 => new UsageEvent($"page-{n}", "analytics.page_view", 1, time),
        _ => new UsageEvent($"build-{n}", UsageKinds.BuildMinutes, n % 7 + 1, time),
    };

    private static async Task AppendUntilStoredAsync(ILogStream<UsageEvent> stream, UsageEvent[] events)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                await stream.AppendBatchAsync(events);
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, Ct);
            }
        }
    }
}
