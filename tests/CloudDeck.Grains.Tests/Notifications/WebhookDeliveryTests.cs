using System.Net;
using System.Text.Json;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Tests.Builds;
using CloudDeck.Testing;

namespace CloudDeck.Grains.Tests.Notifications;

public sealed class WebhookDeliveryTests
{
    [Fact]
    public async Task A_failing_build_emails_the_owner_and_posts_a_signed_webhook_retried_with_backoff_until_it_succeeds_and_redelivered_with_the_same_event_id()
    {
        Need.Component(Requirement.Check(Tools.Has("npm"), "npm", "apt-get install npm"));
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var silo = await NotificationSilo.StartAsync(NotificationSilo.QuickRetries());
        var (owner, org) = await silo.SignUpAsync("nora@example.com");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings(InstallCommand: "true"));
        await silo.Rules(org).Add(owner, new NotificationRuleSpec(NotificationChannels.Email,
            [NotificationEventTypes.DeploymentFailed, NotificationEventTypes.BuildFailed], Project: "web", Roles: ["owner"]));
        var hook = await silo.Rules(org).Add(owner, new NotificationRuleSpec(NotificationChannels.Webhook, [NotificationEventTypes.DeploymentFailed], Url: receiver.Url.AbsoluteUri));
        receiver.Secret = hook.Secret;
        receiver.Answer(500, 500, 500);

        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["package.json"] = BuildPipelineTests.Package("echo compiling; exit 3") });
        var (_, deploymentId, _) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        Assert.Equal(DeploymentStatuses.Failed, (await silo.DeploymentResultAsync(owner, deploymentId)).Status);

        var received = await receiver.WaitForSuccessesAsync(1, TimeSpan.FromSeconds(60));
        Assert.Equal([500, 500, 500, 200], received.Select(r => r.AnsweredWith));
        Assert.All(received, r => Assert.True(r.SignatureValid, $"signature {r.Headers.GetValueOrDefault(WebhookHeaders.Signature)} did not verify"));
        var eventId = Assert.Single(received.Select(r => r.Headers[WebhookHeaders.EventId]).Distinct());
        Assert.Single(received.Select(r => r.Headers[WebhookHeaders.DeliveryId]).Distinct());
        using (var body = JsonDocument.Parse(received[^1].Body))
        {
            Assert.Equal(eventId, body.RootElement.GetProperty("id").GetString());
            Assert.Equal(NotificationEventTypes.DeploymentFailed, body.RootElement.GetProperty("type").GetString());
            Assert.Equal(deploymentId, body.RootElement.GetProperty("data").GetProperty("deployment_id").GetString());
        }

        // The delivery log: one delivery, four attempts, each retry at least the doubled delay after the one before.
        var delivery = Assert.Single((await silo.Endpoint(org, hook.Rule.Id).ListDeliveries(owner, null, 20)).Items);
        Assert.Equal((WebhookDeliveryStatuses.Succeeded, 200), (delivery.Status, delivery.ResponseCode));
        Assert.Equal([500, 500, 500, 200], delivery.Attempts.Select(a => a.ResponseCode ?? 0));
        for (var i = 1; i < delivery.Attempts.Count; i++)
        {
            var wanted = TimeSpan.FromMilliseconds(200 * Math.Pow(2, i - 1));
            Assert.True(delivery.Attempts[i].At - delivery.Attempts[i - 1].At >= wanted, $"attempt {i + 1} came before the {wanted} backoff");
        }

        var emails = await NotificationSilo.EventuallyAsync(() => silo.OutboxAsync(owner.Email), m => m.Count(e => e.Kind == OutboxKinds.Notification) >= 2, "the notification emails");
        Assert.Contains(emails, e => e.Kind == OutboxKinds.Notification && e.Subject.Contains($"Deployment {deploymentId} of {org}/web (preview) failed", StringComparison.Ordinal));
        Assert.Contains(emails, e => e.Kind == OutboxKinds.Notification && e.Subject.Contains("Build", StringComparison.Ordinal) && e.Body.Contains("exit_code: 3", StringComparison.Ordinal));

        var again = await silo.Endpoint(org, hook.Rule.Id).Redeliver(owner, delivery.Id);
        Assert.Equal((eventId, delivery.Id), (again.EventId, again.RedeliveryOf));
        var replayed = (await receiver.WaitForSuccessesAsync(2, TimeSpan.FromSeconds(30)))[^1];
        Assert.Equal(eventId, replayed.Headers[WebhookHeaders.EventId]);
        Assert.Equal(again.Id, replayed.Headers[WebhookHeaders.DeliveryId]);
        Assert.Equal(received[^1].Body, replayed.Body);
        Assert.True(replayed.SignatureValid);
    }

    [Fact]
    public async Task Webhooks_to_loopback_private_and_metadata_addresses_are_refused_by_default_with_the_reason()
    {
        await using var silo = await NotificationSilo.StartAsync(NotificationSilo.QuickRetries(allowPrivate: false));
        var (owner, org) = await silo.SignUpAsync("rita@example.com");
        foreach (var (url, reason) in new[]
                 {
                     ("http://127.0.0.1:8080/hook", "loopback"), ("http://169.254.169.254/latest/meta-data/", "link-local"),
                     ("http://[::1]/hook", "loopback"), ("https://10.1.2.3/hook", "private"), ("http://[fd00::1]/", "private"),
                     ("http://[::ffff:127.0.0.1]/", "loopback"),
                 })
        {
            var refused = await Assert.ThrowsAsync<InvalidFieldException>(() =>
                silo.Rules(org).Add(owner, new NotificationRuleSpec(NotificationChannels.Webhook, [NotificationEventTypes.DeploymentReady], Url: url)));
            Assert.Equal("url", refused.Field);
            Assert.Contains(reason, refused.Problem, StringComparison.Ordinal);
            Assert.Contains("AllowPrivateWebhookTargets", refused.Problem, StringComparison.Ordinal);
        }

        Assert.Empty(await silo.Rules(org).List(owner));
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_at_send_time_is_not_connected_to_even_though_it_was_public_when_added()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var lookups = 0;
        WebhookHostResolver rebinding = (host, _) => Task.FromResult<IPAddress[]>(
            host == "rebind.example" && Interlocked.Increment(ref lookups) == 1 ? [IPAddress.Parse("93.184.215.14")] : [IPAddress.Loopback]);
        await using var silo = await NotificationSilo.StartAsync(NotificationSilo.QuickRetries(allowPrivate: false), rebinding);
        var (owner, org) = await silo.SignUpAsync("rebecca@example.com");
        var hook = await silo.Rules(org).Add(owner, new NotificationRuleSpec(NotificationChannels.Webhook, [NotificationEventTypes.DeploymentReady],
            Url: $"http://rebind.example:{receiver.Port}/hook"));

        await silo.Rules(org).Publish(NotificationSilo.Event(org, NotificationEventTypes.DeploymentReady));

        var delivery = await NotificationSilo.EventuallyAsync(async () => (await silo.Endpoint(org, hook.Rule.Id).ListDeliveries(owner, null, 10)).Items,
            items => items.Count == 1 && items[0].Attempts.Count >= 1, "the first attempt");
        Assert.Null(delivery[0].Attempts[0].ResponseCode);
        Assert.Contains("loopback", delivery[0].Attempts[0].Error, StringComparison.Ordinal);
        Assert.Empty(receiver.Received);
    }

    [Fact]
    public async Task An_endpoint_that_keeps_failing_is_disabled_its_owners_are_emailed_and_enabling_it_delivers_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.DefaultStatus = 503;
        var settings = NotificationSilo.QuickRetries();
        settings["CloudDeck:Notifications:DisableAfterConsecutiveFailures"] = "3";
        await using var silo = await NotificationSilo.StartAsync(settings);
        var (owner, org) = await silo.SignUpAsync("dora@example.com");
        var hook = await silo.Rules(org).Add(owner, new NotificationRuleSpec(NotificationChannels.Slack, [NotificationEventTypes.QuotaReached], Url: receiver.Url.AbsoluteUri));
        Assert.Null(hook.Secret);
        Assert.Equal($"http://127.0.0.1:{receiver.Port}/…", hook.Rule.Url);

        await silo.Rules(org).Publish(NotificationSilo.Event(org, NotificationEventTypes.QuotaReached, project: null));

        var rule = await NotificationSilo.EventuallyAsync(() => silo.Rules(org).Get(owner, hook.Rule.Id), r => !r.Enabled, "the endpoint to be disabled");
        Assert.Contains("3 failed attempts in a row", rule.DisabledReason, StringComparison.Ordinal);
        Assert.Equal(3, receiver.Received.Count);
        Assert.Equal("[" + org + "] test event quota.reached", JsonDocument.Parse(receiver.Received[0].Body).RootElement.GetProperty("text").GetString());
        var notice = await NotificationSilo.EventuallyAsync(() => silo.OutboxAsync(owner.Email), m => m.Any(e => e.Kind == OutboxKinds.WebhookDisabled), "the notice");
        Assert.Contains(hook.Rule.Id, notice.Single(e => e.Kind == OutboxKinds.WebhookDisabled).Subject, StringComparison.Ordinal);
        var failed = Assert.Single((await silo.Endpoint(org, hook.Rule.Id).ListDeliveries(owner, null, 10)).Items);
        Assert.Equal(WebhookDeliveryStatuses.Failed, failed.Status);

        receiver.DefaultStatus = 200;
        Assert.True((await silo.Rules(org).Enable(owner, hook.Rule.Id)).Enabled);
        await silo.Endpoint(org, hook.Rule.Id).Redeliver(owner, failed.Id);
        await receiver.WaitForSuccessesAsync(1, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Rules_are_for_admins_and_owners_and_another_organization_is_not_found()
    {
        await using var silo = await NotificationSilo.StartAsync(NotificationSilo.QuickRetries(allowPrivate: false));
        var (owner, org) = await silo.SignUpAsync("olga@example.com");
        var (other, _) = await silo.SignUpAsync("otto@example.com");
        var rule = await silo.Rules(org).Add(owner, new NotificationRuleSpec(NotificationChannels.Email, [NotificationEventTypes.PaymentFailed], Roles: ["owner", "admin"]));

        await Assert.ThrowsAsync<NotFoundException>(() => silo.Rules(org).List(other));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Rules(org).Get(other, rule.Rule.Id));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Rules(org).Remove(other, rule.Rule.Id));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Endpoint(org, rule.Rule.Id).ListDeliveries(other, null, 10));
        var project = await Assert.ThrowsAsync<InvalidFieldException>(() => silo.Rules(org).Add(owner,
            new NotificationRuleSpec(NotificationChannels.Email, ["deployment.exploded"], Roles: ["owner"])));
        Assert.Equal("events", project.Field);
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Rules(org).Add(owner,
            new NotificationRuleSpec(NotificationChannels.Email, [NotificationEventTypes.DeploymentFailed], Project: "nowhere", Roles: ["owner"])));
        Assert.Single(await silo.Rules(org).List(owner));
        await silo.Rules(org).Remove(owner, rule.Rule.Id);
        Assert.Empty(await silo.Rules(org).List(owner));
    }

    [Fact]
    public async Task A_pending_retry_survives_a_silo_restart_and_is_delivered_by_the_reminder()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer(500);
        var settings = NotificationSilo.QuickRetries();
        // Long enough that the retry cannot happen before the restart; the reminder (every minute) brings the grain back.
        settings["CloudDeck:Notifications:FirstRetryDelay"] = "00:00:05";
        settings["CloudDeck:Notifications:MaxRetryDelay"] = "00:00:05";
        await using var silo = await NotificationSilo.StartAsync(settings);
        var (owner, org) = await silo.SignUpAsync("reme@example.com");
        var hook = await silo.Rules(org).Add(owner, new NotificationRuleSpec(NotificationChannels.Webhook, [NotificationEventTypes.DeploymentPromoted], Url: receiver.Url.AbsoluteUri));
        receiver.Secret = hook.Secret;
        await silo.Rules(org).Publish(NotificationSilo.Event(org, NotificationEventTypes.DeploymentPromoted));
        await NotificationSilo.EventuallyAsync(() => Task.FromResult(receiver.Received.Count), n => n == 1, "the first attempt");

        await silo.RestartAsync(graceful: false);

        var received = await receiver.WaitForSuccessesAsync(1, TimeSpan.FromMinutes(3));
        Assert.Equal([500, 200], received.Select(r => r.AnsweredWith));
        Assert.Single(received.Select(r => r.Headers[WebhookHeaders.EventId]).Distinct());
        Assert.True(received[1].SignatureValid);
        var delivery = Assert.Single((await silo.Endpoint(org, hook.Rule.Id).ListDeliveries(owner, null, 10)).Items);
        Assert.Equal(WebhookDeliveryStatuses.Succeeded, delivery.Status);
    }
}
