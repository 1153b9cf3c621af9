using System.Text.Json;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Servers;
using CloudDeck.Grains.Tests.Projects;
using CloudDeck.Grains.Tests.Servers;
using CloudDeck.Testing;

namespace CloudDeck.Grains.Tests.Notifications;

/// <summary>
/// Each event comes from the action it describes: the test performs the real action through the grains (a promotion, a
/// rollback, deployments, builds and build minutes counted against the plan, a server that keeps crashing) and a real webhook
/// receiver gets the signed event, with its organization, project and ids. The silo's clock is manual; the receiver
/// checks signature timestamps against the same clock, as a real receiver's clock agrees with CloudDeck's.
/// </summary>
public sealed class EventSourceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static readonly DeploymentManifest Site = new([new ManifestFile("index.html", new string('a', 64), 12)], null);

    [Fact]
    public async Task Promoting_the_older_of_two_ready_deployments_posts_a_signed_deployment_promoted_webhook_naming_it_and_the_one_it_replaced()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: NotificationSilo.QuickRetries());
        await using var _ = silo;
        await WebProjectAsync(silo, owner);
        await using var receiver = await ReceiverAsync(silo, owner, "web", NotificationEventTypes.DeploymentPromoted);
        var older = await ReadyAsync(silo, owner);
        var newer = await ReadyAsync(silo, owner);

        var promoted = await silo.Grains.GetGrain<IDeploymentGrain>(older).Promote(owner);

        var data = await SingleEventAsync(receiver, NotificationEventTypes.DeploymentPromoted, "acme", "web");
        Assert.Equal(older, data["deployment_id"]);
        Assert.Equal(newer, data["previous_deployment_id"]);
        Assert.Equal(owner.Email, data["by"]);
        Assert.Equal(promoted.Url, data["url"]);
    }

    [Fact]
    public async Task Rolling_back_production_posts_a_signed_deployment_rolled_back_webhook_naming_the_deployment_now_serving_and_the_one_before()
    {
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: NotificationSilo.QuickRetries());
        await using var _ = silo;
        var web = await WebProjectAsync(silo, owner);
        await using var receiver = await ReceiverAsync(silo, owner, "web", NotificationEventTypes.DeploymentRolledBack);
        var first = await ReadyAsync(silo, owner);
        var second = await ReadyAsync(silo, owner);

        var target = await web.Rollback(owner, null);
        Assert.Equal(first, target.Id);

        var data = await SingleEventAsync(receiver, NotificationEventTypes.DeploymentRolledBack, "acme", "web");
        Assert.Equal(first, data["deployment_id"]);
        Assert.Equal(second, data["previous_deployment_id"]);
        Assert.Equal(owner.Email, data["by"]);
        Assert.Equal(target.Url, data["url"]);
    }

    [Fact]
    public async Task Deployments_and_build_minutes_crossing_80_then_100_percent_post_quota_near_limit_once_then_quota_reached_once_and_nothing_for_further_usage()
    {
        var settings = NotificationSilo.QuickRetries();
        settings["CloudDeck:Plans:Hobby:DeploymentsPerDay"] = "5";
        settings["CloudDeck:Plans:Hobby:BuildMinutesPerMonth"] = "10";
        settings["CloudDeck:Plans:Hobby:BandwidthGbPerMonth"] = "1";
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: settings);
        await using var _ = silo;
        await WebProjectAsync(silo, owner);
        // Quota events concern the whole organization: the rule names no project.
        await using var receiver = await ReceiverAsync(silo, owner, project: null, NotificationEventTypes.QuotaNearLimit, NotificationEventTypes.QuotaReached);

        // Deployments per day, counted by the reservation every deployment makes: the 4th of 5 is 80 %, the 5th 100 %.
        for (var i = 0; i < 3; i++) await DeployAsync(silo, owner);
        await DeployAsync(silo, owner);
        var nearDeployments = await NthEventAsync(receiver, 1, NotificationEventTypes.QuotaNearLimit, "acme", project: null);
        Assert.Equal((QuotaLimits.DeploymentsPerDay, "4", "5", PlanNames.Hobby), (nearDeployments["limit"], nearDeployments["used"], nearDeployments["maximum"], nearDeployments["plan"]));
        await DeployAsync(silo, owner);
        var reachedDeployments = await NthEventAsync(receiver, 2, NotificationEventTypes.QuotaReached, "acme", project: null);
        Assert.Equal((QuotaLimits.DeploymentsPerDay, "5", "5"), (reachedDeployments["limit"], reachedDeployments["used"], reachedDeployments["maximum"]));
        await Assert.ThrowsAsync<RateLimitExceededException>(() => DeployAsync(silo, owner));

        // Build minutes, recorded as a finished build records them (and never refused): 7, 8 (80 %), 9, 10 (100 %), 15.
        var quota = silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme");
        await quota.Record(QuotaLimits.BuildMinutesPerMonth, 7);
        await quota.Record(QuotaLimits.BuildMinutesPerMonth, 1);
        var nearMinutes = await NthEventAsync(receiver, 3, NotificationEventTypes.QuotaNearLimit, "acme", project: null);
        Assert.Equal((QuotaLimits.BuildMinutesPerMonth, "8", "10"), (nearMinutes["limit"], nearMinutes["used"], nearMinutes["maximum"]));
        await quota.Record(QuotaLimits.BuildMinutesPerMonth, 1);
        await quota.Record(QuotaLimits.BuildMinutesPerMonth, 1);
        var reachedMinutes = await NthEventAsync(receiver, 4, NotificationEventTypes.QuotaReached, "acme", project: null);
        Assert.Equal((QuotaLimits.BuildMinutesPerMonth, "10", "10"), (reachedMinutes["limit"], reachedMinutes["used"], reachedMinutes["maximum"]));
        await quota.Record(QuotaLimits.BuildMinutesPerMonth, 5);

        // A marker from the same grain after the further usage: once it is in, nothing was sent for the 15 minutes.
        var bandwidth = (await quota.GetUsage()).Limits.Single(l => l.Limit == QuotaLimits.BandwidthBytesPerMonth).Maximum;
        await quota.Record(QuotaLimits.BandwidthBytesPerMonth, bandwidth);
        var marker = await NthEventAsync(receiver, 5, NotificationEventTypes.QuotaReached, "acme", project: null);
        Assert.Equal(QuotaLimits.BandwidthBytesPerMonth, marker["limit"]);
        Assert.Equal(
            [
                (NotificationEventTypes.QuotaNearLimit, QuotaLimits.DeploymentsPerDay), (NotificationEventTypes.QuotaReached, QuotaLimits.DeploymentsPerDay),
                (NotificationEventTypes.QuotaNearLimit, QuotaLimits.BuildMinutesPerMonth), (NotificationEventTypes.QuotaReached, QuotaLimits.BuildMinutesPerMonth),
                (NotificationEventTypes.QuotaReached, QuotaLimits.BandwidthBytesPerMonth),
            ],
            receiver.Received.Select(r => Parse(r.Body)).Select(e => (e.Type, e.Data["limit"])));
    }

    [Fact]
    public async Task A_deployment_reservation_given_back_and_taken_again_does_not_report_the_same_threshold_twice_in_one_period()
    {
        var settings = NotificationSilo.QuickRetries();
        settings["CloudDeck:Plans:Hobby:DeploymentsPerDay"] = "5";
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: settings);
        await using var _ = silo;
        await using var receiver = await ReceiverAsync(silo, owner, project: null, NotificationEventTypes.QuotaNearLimit, NotificationEventTypes.QuotaReached);
        var quota = silo.Grains.GetGrain<IOrganizationQuotaGrain>("acme");

        // As a deployment's creation reserves, and gives back when the creation fails after the reservation.
        for (var i = 1; i <= 4; i++) await quota.Reserve(new QuotaReservation($"d{i}", [QuotaLimits.DeploymentsPerDay], []));
        var near = await NthEventAsync(receiver, 1, NotificationEventTypes.QuotaNearLimit, "acme", project: null);
        Assert.Equal("4", near["used"]);
        await quota.Return("d4");
        await quota.Reserve(new QuotaReservation("d5", [QuotaLimits.DeploymentsPerDay], []));
        await quota.Reserve(new QuotaReservation("d6", [QuotaLimits.DeploymentsPerDay], []));

        // 80 % was passed a second time, but reported already this period: the next event is the 100 %.
        var reached = await NthEventAsync(receiver, 2, NotificationEventTypes.QuotaReached, "acme", project: null);
        Assert.Equal("5", reached["used"]);
        Assert.Equal([NotificationEventTypes.QuotaNearLimit, NotificationEventTypes.QuotaReached], receiver.Received.Select(r => Parse(r.Body).Type));
    }

    [Fact]
    public async Task Builds_created_on_their_own_crossing_80_then_100_percent_of_builds_per_day_post_quota_near_limit_then_quota_reached()
    {
        var settings = NotificationSilo.QuickRetries();
        settings["CloudDeck:Plans:Hobby:BuildsPerDay"] = "5";
        settings["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "-1";
        var (silo, owner) = await ProjectsSilo.StartAsync(settings: settings);
        await using var _ = silo;
        await WebProjectAsync(silo, owner);
        await using var receiver = await ReceiverAsync(silo, owner, project: null, NotificationEventTypes.QuotaNearLimit, NotificationEventTypes.QuotaReached);

        // A build of its own (not a deployment's) takes a concurrent slot and counts one of today's builds with it.
        for (var i = 0; i < 4; i++) await silo.Grains.GetGrain<IBuildGrain>(BuildIds.New()).Create(owner, "acme", "web");
        var near = await NthEventAsync(receiver, 1, NotificationEventTypes.QuotaNearLimit, "acme", project: null);
        Assert.Equal((QuotaLimits.BuildsPerDay, "4", "5"), (near["limit"], near["used"], near["maximum"]));
        await silo.Grains.GetGrain<IBuildGrain>(BuildIds.New()).Create(owner, "acme", "web");
        var reached = await NthEventAsync(receiver, 2, NotificationEventTypes.QuotaReached, "acme", project: null);
        Assert.Equal((QuotaLimits.BuildsPerDay, "5", "5"), (reached["limit"], reached["used"], reached["maximum"]));
    }

    [Fact]
    public async Task A_server_that_exits_soon_after_each_healthy_start_posts_one_signed_server_crashed_repeatedly_webhook_on_its_third_crash()
    {
        ServerApps.NeedNode();
        // Answers its health check, then exits with 3: healthy, crashed, restarted after the backoff, and again.
        const string crashing = """
            const http = require('node:http');
            let exiting = false;
            http.createServer((req, res) => {
              res.writeHead(200); res.end('ok');
              if (!exiting) { exiting = true; setTimeout(() => process.exit(3), 200); }
            }).listen(Number(process.env.PORT), '127.0.0.1');
            """;
        var settings = new Dictionary<string, string?>(NotificationSilo.QuickRetries());
        var (silo, owner, _) = await ServerApps.StartAsync(settings);
        await using var __ = silo;
        await using var receiver = await ReceiverAsync(silo, owner, "api", NotificationEventTypes.ServerCrashedRepeatedly);
        var deployment = await ServerApps.DeployAsync(silo, owner, DeploymentTargets.Production, await ServerApps.ManifestAsync(silo, "v1", serverJs: crashing));
        Assert.Equal(DeploymentStatuses.Ready, deployment.Status);
        var server = ServerApps.Server(silo, deployment.Id);

        // The restart backoff runs on the silo's clock: each poll moves it on a little (far less than StableAfter's minute).
        var status = await ServerApps.Eventually(() => server.GetStatus(owner), s => s.Restarts >= ServerGrain.CrashesReported - 1 && receiver.Received.Count > 0,
            "the third crash's event", between: () => silo.Clock.Advance(TimeSpan.FromMilliseconds(200)));

        var data = await SingleEventAsync(receiver, NotificationEventTypes.ServerCrashedRepeatedly, "acme", "api");
        Assert.Equal(deployment.Id, data["deployment_id"]);
        Assert.Equal("3", data["exit_code"]);
        Assert.Equal(3, status.LastExitCode);
        Assert.True(double.Parse(data["restart_in_seconds"], System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    /// <summary>A real receiver behind a webhook rule of "acme" for <paramref name="events"/>, checking signatures with the rule's secret.</summary>
    private static async Task<WebhookReceiver> ReceiverAsync(AccountsSilo silo, Caller owner, string? project, params string[] events)
    {
        var receiver = await WebhookReceiver.StartAsync();
        try
        {
            receiver.Clock = silo.Clock;
            var hook = await silo.Grains.GetGrain<INotificationRulesGrain>("acme").Add(owner,
                new NotificationRuleSpec(NotificationChannels.Webhook, events, Project: project, Url: receiver.Url.AbsoluteUri));
            receiver.Secret = hook.Secret;
            return receiver;
        }
        catch
        {
            await receiver.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits for the first webhook and checks it is the only one, signed, and of this type, organization and project; answers its data.</summary>
    private static async Task<IReadOnlyDictionary<string, string>> SingleEventAsync(WebhookReceiver receiver, string type, string organization, string? project)
    {
        var data = await NthEventAsync(receiver, 1, type, organization, project);
        Assert.Single(receiver.Received);
        return data;
    }

    /// <summary>Waits for the <paramref name="n"/>th webhook and checks it is signed, and of this type, organization and project; answers its data.</summary>
    private static async Task<IReadOnlyDictionary<string, string>> NthEventAsync(WebhookReceiver receiver, int n, string type, string organization, string? project)
    {
        var hook = (await receiver.WaitForSuccessesAsync(n, Patience))[n - 1];
        Assert.True(hook.SignatureValid, $"the signature {hook.Headers.GetValueOrDefault(WebhookHeaders.Signature)} did not verify");
        var received = Parse(hook.Body);
        Assert.Equal((type, organization, project), (received.Type, received.Organization, received.Project));
        Assert.Equal(hook.Headers[WebhookHeaders.EventId], received.Id);
        return received.Data;
    }

    private static (string Id, string Type, string Organization, string? Project, IReadOnlyDictionary<string, string> Data) Parse(string body)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        var data = root.GetProperty("data").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
        return (root.GetProperty("id").GetString()!, root.GetProperty("type").GetString()!, root.GetProperty("organization").GetString()!,
            root.GetProperty("project").GetString(), data);
    }

    private static async Task<IProjectGrain> WebProjectAsync(AccountsSilo silo, Caller owner)
    {
        var web = silo.Grains.GetGrain<IProjectGrain>("acme/web");
        await web.Create(owner, new ProjectSettings(GitUrl: "https://git.example.test/acme/web.git"));
        return web;
    }

    private static Task<DeploymentView> DeployAsync(AccountsSilo silo, Caller owner) =>
        silo.Grains.GetGrain<IProjectGrain>("acme/web").Deploy(owner, new DeploymentSource(), DeploymentTargets.Production);

    /// <summary>A production deployment of acme/web whose build reports it ready, as the pipeline does.</summary>
    private static async Task<string> ReadyAsync(AccountsSilo silo, Caller owner)
    {
        var deployment = await DeployAsync(silo, owner);
        await silo.Grains.GetGrain<IDeploymentGrain>(deployment.Id).BuildFinished(DeploymentStatuses.Ready, Site);
        return deployment.Id;
    }
}
