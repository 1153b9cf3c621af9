using System.Net;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.Testing;

namespace CloudDeck.Api.Tests.Notifications;

public sealed class NotificationApiTests
{
    [Fact]
    public async Task Webhooks_to_127_0_0_1_and_169_254_169_254_are_a_400_naming_the_url_and_the_reason_by_default()
    {
        await using var api = new InProcessApi();
        var owner = await api.SignUpAndLoginAsync("nils@example.com");
        var path = $"/api/v1/orgs/{owner.PersonalOrganization}/notifications";

        foreach (var (url, reason) in new[] { ("http://127.0.0.1:8080/hook", "loopback"), ("http://169.254.169.254/latest/meta-data/", "link-local") })
        {
            var refused = await api.PostAsync(path, new { channel = "webhook", events = new[] { "deployment.failed" }, url }, owner.AccessToken);
            Assert.Equal((HttpStatusCode.BadRequest, "application/problem+json"), (refused.Status, refused.MediaType));
            var problem = refused.Json["errors"]!["url"]![0]!.GetValue<string>();
            Assert.Contains(reason, problem, StringComparison.Ordinal);
            Assert.Contains("CloudDeck:Notifications:AllowPrivateWebhookTargets", problem, StringComparison.Ordinal);
        }

        var badChannel = await api.PostAsync(path, new { channel = "pager", events = new[] { "deployment.failed" } }, owner.AccessToken);
        Assert.Equal(HttpStatusCode.BadRequest, badChannel.Status);
        Assert.NotNull(badChannel.Json["errors"]!["channel"]);
        var badEvent = await api.PostAsync(path, new { channel = "email", events = new[] { "deployment.exploded" }, roles = new[] { "owner" } }, owner.AccessToken);
        Assert.NotNull(badEvent.Expect(HttpStatusCode.BadRequest)["errors"]!["events"]);
        Assert.DoesNotContain(api.Logs.Lines, l => l.Contains("Unhandled", StringComparison.Ordinal));
        Assert.Empty((await api.GetAsync(path, owner.AccessToken)).Expect(HttpStatusCode.OK)["items"]!.AsArray());
    }

    [Fact]
    public async Task A_webhook_secret_is_answered_once_at_creation_and_never_again_nor_logged_and_another_organization_gets_404()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var api = new InProcessApi(settings: new Dictionary<string, string?> { ["CloudDeck:Notifications:AllowPrivateWebhookTargets"] = "true" });
        var owner = await api.SignUpAndLoginAsync("wanda@example.com");
        var stranger = await api.SignUpAndLoginAsync("stan@example.com");
        var path = $"/api/v1/orgs/{owner.PersonalOrganization}/notifications";

        var created = await api.PostAsync(path, new { channel = "webhook", events = new[] { "deployment.ready", "quota.reached" }, url = receiver.Url.AbsoluteUri + "?token=abc" },
            owner.AccessToken);
        var body = created.Expect(HttpStatusCode.Created);
        var secret = body.Text("secret");
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        var id = body["rule"]!.Text("id");
        Assert.Equal(receiver.Url.AbsoluteUri + "?…", body["rule"]!.Text("url"));
        Assert.Equal($"{path}/{id}", created.Location?.OriginalString);

        var read = await api.GetAsync($"{path}/{id}", owner.AccessToken);
        var list = await api.GetAsync(path, owner.AccessToken);
        var deliveries = await api.GetAsync($"{path}/{id}/deliveries", owner.AccessToken);
        foreach (var answer in new[] { read, list, deliveries })
        {
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.DoesNotContain(secret, answer.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("token=abc", answer.Body, StringComparison.Ordinal);
        }

        Assert.Null(read.Json["secret"]);
        Assert.Empty(deliveries.Json["items"]!.AsArray());
        Assert.DoesNotContain(api.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"{path}/{id}", stranger.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"{path}/{id}/deliveries", stranger.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.SendAsync(HttpMethod.Delete, $"{path}/{id}", null, stranger.AccessToken)).Status);
        var strangers = $"/api/v1/orgs/{stranger.PersonalOrganization}/notifications/{id}";
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync(strangers, stranger.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync($"{path}/not-a-rule", owner.AccessToken)).Status);

        Assert.Equal(HttpStatusCode.NoContent, (await api.SendAsync(HttpMethod.Delete, $"{path}/{id}", null, owner.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"{path}/{id}", owner.AccessToken)).Status);
    }
}
