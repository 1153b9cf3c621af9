using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.Testing;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>The notifications page against a real webhook receiver: a rule added from the page, a real deploy's event, its redelivery.</summary>
public sealed class NotificationsPageTests : DashboardTest
{
    [Fact]
    public async Task A_webhook_rule_added_on_the_page_shows_its_secret_once_its_deliveries_and_redelivers_one()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await StartAsync(new Dictionary<string, string?> { ["CloudDeck__Notifications__AllowPrivateWebhookTargets"] = "true" });
        var owner = await VerifiedAsync("owner@notify.test");
        var page = await NewPageAsync();
        await LogInAsync(page, owner.Email);
        await page.GotoAsync($"/orgs/{owner.Organization}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Notifications" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No notification rules yet.")).ToBeVisibleAsync();

        // Refused by the API (a webhook needs its URL): its words on the page, and nothing added.
        await page.GetByLabel("Channel").SelectOptionAsync("webhook");
        await page.GetByLabel("deployment.ready").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("url");

        await page.GetByLabel("Channel").SelectOptionAsync("webhook");
        await page.GetByLabel("deployment.ready").CheckAsync();
        await page.GetByLabel("Webhook or Slack URL").FillAsync(receiver.Url.AbsoluteUri);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        receiver.Secret = (await page.Locator("#new-webhook-secret").InnerTextAsync()).Trim();
        Assert.StartsWith("whsec_", receiver.Secret, StringComparison.Ordinal);
        var ruleId = await page.Locator("tr[data-rule]").GetAttributeAsync("data-rule");
        await page.GotoAsync($"/orgs/{owner.Organization}/notifications");
        Assert.DoesNotContain(receiver.Secret, await page.ContentAsync(), StringComparison.Ordinal);

        // An email rule for two roles, read back from the API.
        await page.GetByLabel("Channel").SelectOptionAsync("email");
        await page.GetByLabel("build.failed").CheckAsync();
        await page.GetByLabel("owner", new() { Exact = true }).CheckAsync();
        await page.GetByLabel("admin", new() { Exact = true }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.GetByText("The rule was added.")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("tr[data-rule]")).ToHaveCountAsync(2);
        using (var listed = await SendAsync(HttpMethod.Get, $"api/v1/orgs/{owner.Organization}/notifications", owner.AccessToken))
        {
            var email = (await ExpectAsync(listed, HttpStatusCode.OK))["items"]!.AsArray().Single(r => r!["channel"]!.GetValue<string>() == "email")!;
            Assert.Equal(["build.failed"], email["events"]!.AsArray().Select(e => e!.GetValue<string>()));
            Assert.Equal(["owner", "admin"], email["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        }

        // A real deploy's event reaches the receiver, signed; the page lists it and sends it again with the same id.
        var site = Site("web", new Dictionary<string, string> { ["index.html"] = "<h1>hello</h1>" });
        (await Deck(["login", "--api", Api.BaseAddress.ToString(), "--email", owner.Email, "--password-stdin"], Work, stdin: Password + "\n")).Expect(0);
        (await Deck(["init", "--api", Api.BaseAddress.ToString(), "--org", owner.Organization, "--name", "web"], site)).Expect(0);
        (await Deck(["deploy", "--prod", "--api", Api.BaseAddress.ToString()], site)).Expect(0);
        var first = Assert.Single(await receiver.WaitForSuccessesAsync(1, TimeSpan.FromSeconds(60)));
        Assert.True(first.SignatureValid, "signed with the secret the page showed");
        var eventId = JsonNode.Parse(first.Body)!["id"]!.GetValue<string>();

        await page.GetByRole(AriaRole.Link, new() { Name = $"Deliveries of {ruleId}" }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-delivery]")).ToContainTextAsync(eventId);
        await page.GetByRole(AriaRole.Button, new() { Name = $"Redeliver {eventId}" }).ClickAsync();
        await Assertions.Expect(page.GetByText("The event is being sent again.")).ToBeVisibleAsync();
        var both = await receiver.WaitForSuccessesAsync(2, TimeSpan.FromSeconds(60));
        Assert.All(both, r => Assert.Equal(eventId, JsonNode.Parse(r.Body)!["id"]!.GetValue<string>()));

        await page.GetByRole(AriaRole.Button, new() { Name = $"Remove {ruleId}" }).ClickAsync();
        await Assertions.Expect(page.GetByText("The rule was removed.")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("tr[data-rule]")).ToHaveCountAsync(1);
    }
}
