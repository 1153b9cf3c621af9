using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Licenses;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests;

/// <summary>
/// The meter grain consumes an organization's usage stream: per-period totals and days, ids counted once (within the
/// documented bound), members only; builds and license validations feed it.
/// </summary>
public sealed class UsageMeterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ILogStream<UsageEvent> Usage(AccountsSilo silo, string org) =>
        silo.Services.GetRequiredService<ILogStreamProvider>().GetStream<UsageEvent>(UsageStreams.Namespace, org);

    [Fact]
    public async Task Events_are_totalled_per_period_and_day_and_an_id_counts_once_within_the_bound()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true, settings: new Dictionary<string, string?>
        {
            ["CloudDeck:Usage:IdempotencyIdsPerPeriod"] = "3",
        });
        var january = new DateTimeOffset(2030, 1, 31, 23, 59, 0, TimeSpan.Zero);
        var february = january.AddMinutes(2);
        var stream = Usage(silo, "acme");
        await stream.AppendBatchAsync(
        [
            new UsageEvent("a", UsageKinds.EdgeBytesServed, 100, january),
            new UsageEvent("b", UsageKinds.EdgeBytesServed, 50, february),
            new UsageEvent("a", UsageKinds.EdgeBytesServed, 100, january), // a retry: same id, same period
            new UsageEvent("c", UsageKinds.DeploymentsCreated, 1, january.AddDays(-3)),
        ]);
        silo.Clock.Advance(february.AddDays(1) - silo.Clock.GetUtcNow());
        var meter = silo.Grains.GetGrain<IUsageMeterGrain>("acme");

        var jan = await WhenAsync(() => meter.Report("2030-01"), r => r.Events + r.DuplicatesIgnored == 3);
        Assert.Equal((2L, 1L), (jan.Events, jan.DuplicatesIgnored));
        Assert.Equal(100, jan.Totals[UsageKinds.EdgeBytesServed]);
        Assert.Equal(1, jan.Totals[UsageKinds.DeploymentsCreated]);
        Assert.Equal(31, jan.Days.Count); // a past period: every day
        Assert.Equal(100, jan.Days[30].Totals[UsageKinds.EdgeBytesServed]);
        Assert.Equal(1, jan.Days[27].Totals[UsageKinds.DeploymentsCreated]);
        Assert.Empty(jan.Days[0].Totals);

        var feb = await meter.Report("2030-02");
        Assert.Equal(50, feb.Totals[UsageKinds.EdgeBytesServed]);
        Assert.Equal(2, feb.Days.Count); // the current period: through today
        Assert.All(UsageKinds.BuiltIn, kind => Assert.True(feb.Totals.ContainsKey(kind)));
        await Assert.ThrowsAsync<InvalidFieldException>(() => meter.Report("2030-1"));

        // January remembers its 3 newest ids: "a" is forgotten after 3 more, so a very late retry of it counts again (the bound).
        await stream.AppendBatchAsync([.. new[] { "d", "e", "f" }.Select(id => new UsageEvent(id, UsageKinds.ApiRequests, 1, january))]);
        await stream.AppendBatchAsync([new UsageEvent("e", UsageKinds.ApiRequests, 1, january), new UsageEvent("a", UsageKinds.EdgeBytesServed, 100, january)]);
        jan = await WhenAsync(() => meter.Report("2030-01"), r => r.Events + r.DuplicatesIgnored == 8);
        Assert.Equal((6L, 2L), (jan.Events, jan.DuplicatesIgnored));
        Assert.Equal(200, jan.Totals[UsageKinds.EdgeBytesServed]);
    }

    [Fact]
    public async Task Totals_and_ids_survive_a_crash_of_the_silo_and_members_only_may_read_them()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        var (owner, _) = await silo.SignUpAsync("olive@example.com", verified: true);
        var (viewer, _) = await silo.SignUpAsync("vera@example.com", verified: true);
        var (outsider, _) = await silo.SignUpAsync("otto@example.com", verified: true);
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        await org.Create(owner, "Acme", personal: false);
        await OrganizationTests.JoinAsync(silo, org, owner, viewer, OrganizationRoles.Viewer);
        var now = silo.Clock.GetUtcNow();
        var period = BillingPeriods.Of(now);
        await Usage(silo, "acme").AppendBatchAsync([new UsageEvent("x", UsageKinds.ApiRequests, 7, now)]);
        var meter = silo.Grains.GetGrain<IUsageMeterGrain>("acme");
        await WhenAsync(() => meter.Report(period), r => r.Events == 1);

        // A crash: only what the meter wrote survives, and the ids it wrote still count once.
        await silo.RestartAsync(graceful: false);
        meter = silo.Grains.GetGrain<IUsageMeterGrain>("acme");
        await Usage(silo, "acme").AppendBatchAsync([new UsageEvent("x", UsageKinds.ApiRequests, 7, now), new UsageEvent("y", UsageKinds.ApiRequests, 1, now)]);
        var report = await WhenAsync(() => meter.Get(viewer with { Scopes = [ApiTokenScopes.Read] }, period), r => r.Events + r.DuplicatesIgnored == 3);
        Assert.Equal(8, report.Totals[UsageKinds.ApiRequests]);
        Assert.Equal(1, report.DuplicatesIgnored);
        await Assert.ThrowsAsync<NotFoundException>(() => meter.Get(outsider, period));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IUsageMeterGrain>("nobody").Get(owner, period));
    }

    [Fact]
    public async Task A_finished_build_reports_its_minutes_once_and_license_validations_are_metered_per_flush()
    {
        await using var silo = await AccountsSilo.StartAsync(sqlite: true);
        var (owner, _) = await silo.SignUpAsync("olive@example.com", verified: true);
        await silo.Grains.GetGrain<IOrganizationGrain>("acme").Create(owner, "Acme", personal: false);
        var period = BillingPeriods.Of(silo.Clock.GetUtcNow());

        var build = silo.Grains.GetGrain<IBuildGrain>(BuildIds.New());
        await build.Create(owner, "acme", "web");
        await build.Start();
        silo.Clock.Advance(TimeSpan.FromSeconds(61));
        await build.Finish(BuildStatuses.Succeeded);
        await build.Finish(BuildStatuses.Succeeded); // a repeated finish: the same id

        var issued = await silo.Grains.GetGrain<IOrganizationLicensesGrain>("acme").Issue(owner, new IssueLicenseRequest("ENT", "Fleet", null, null));
        Assert.True(LicenseKey.TryParse(issued.LicenseKey, out var key));
        var license = silo.Grains.GetGrain<ILicenseGrain>(key.Id);
        for (var i = 0; i < 5; i++) await license.Validate(Secrets.Hash(key.Secret), $"m{i % 2}", "1.0", "10.0.0.1");
        await license.FlushHistory();
        await license.Validate(Secrets.Hash(key.Secret), "m0", "1.0", "10.0.0.1");
        await license.FlushHistory();

        var meter = silo.Grains.GetGrain<IUsageMeterGrain>("acme");
        var report = await WhenAsync(() => meter.Report(period), r => r.Totals[UsageKinds.LicenseValidations] == 6 && r.DuplicatesIgnored == 1);
        Assert.Equal(2, report.Totals[UsageKinds.BuildMinutes]); // 61 s, rounded up
        Assert.Equal(3, report.Events); // one build, two flushes
    }

    private static async Task<UsageReport> WhenAsync(Func<Task<UsageReport>> read, Func<UsageReport, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var report = await read();
            if (done(report)) return report;
            Assert.True(DateTime.UtcNow < deadline, $"The meter did not catch up: {report}");
            await Task.Delay(20, Ct);
        }
    }
}
