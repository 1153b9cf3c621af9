using System.Text.Json.Nodes;
using CloudDeck.Api.Tests;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// <c>deck notifications</c> against a real API process and a real webhook receiver: a rule added from deck receives a
/// real deployment's event, signed with the secret deck printed once; deliveries are listed and redelivered; refusals
/// come back as deck errors.
/// </summary>
public sealed class NotificationCommandTests : DeckProcessTest
{
    private static readonly TimeSpan DeliveryWait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_webhook_rule_added_with_deck_gets_a_deploys_signed_event_and_deck_lists_redelivers_and_removes_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var api = await StartApiAsync(new Dictionary<string, string?> { ["CloudDeck__Notifications__AllowPrivateWebhookTargets"] = "true" });
        var user = await LoggedInAsync(api);
        var url = api.BaseAddress.ToString();
        string[] org = ["--org", user.Organization, "--api", url];

        var added = (await Deck(["notifications", "add", "--channel", "webhook", "--event", "deployment.ready", "--url", receiver.Url.AbsoluteUri, .. org])).Expect(0);
        var ruleId = Assert.Single(added.Stdout, l => l.StartsWith("added rule ", StringComparison.Ordinal)).Split(' ')[2];
        receiver.Secret = Assert.Single(added.Stdout, l => l.StartsWith("signing secret: ", StringComparison.Ordinal))["signing secret: ".Length..];
        Assert.StartsWith("whsec_", receiver.Secret, StringComparison.Ordinal);
        (await Deck(["notifications", "add", "--channel", "email", "--event", "build.failed", "--event", "deployment.failed", "--role", "owner", "--role", "admin", .. org])).Expect(0);

        var listed = (await Deck(["notifications", "ls", .. org])).Expect(0);
        Assert.Contains($"{ruleId}\twebhook\tdeployment.ready\t*\t{receiver.Url.AbsoluteUri}\tenabled", listed.Stdout);
        Assert.Contains(listed.Stdout, l => l.Contains("\temail\tbuild.failed,deployment.failed\t*\towner,admin\tenabled", StringComparison.Ordinal));
        Assert.DoesNotContain(receiver.Secret, listed.Output, StringComparison.Ordinal);

        var site = Directory.CreateDirectory(Path.Combine(Work, "site")).FullName;
        File.WriteAllText(Path.Combine(site, "index.html"), "<h1>hello</h1>");
        (await Deck(["init", "--org", user.Organization, "--name", "web", "--api", url], site)).Expect(0);
        (await Deck(["deploy", "--prod", "--api", url], site)).Expect(0);
        var delivered = Assert.Single(await receiver.WaitForSuccessesAsync(1, DeliveryWait));
        Assert.True(delivered.SignatureValid, "the event must be signed with the secret deck printed");
        var eventId = JsonNode.Parse(delivered.Body)!["id"]!.GetValue<string>();

        var deliveries = (await Deck(["notifications", "deliveries", ruleId, .. org])).Expect(0);
        var row = Assert.Single(deliveries.Stdout, l => l.Contains(eventId, StringComparison.Ordinal)).Split('\t');
        Assert.Equal(["deployment.ready", "200", "1"], [row[2], row[4], row[5]]);

        var again = (await Deck(["notifications", "redeliver", ruleId, row[0], .. org])).Expect(0);
        Assert.Contains($"of event {eventId}", again.Stdout[0], StringComparison.Ordinal);
        var both = await receiver.WaitForSuccessesAsync(2, DeliveryWait);
        Assert.All(both, r => Assert.Equal(eventId, JsonNode.Parse(r.Body)!["id"]!.GetValue<string>()));

        (await Deck(["notifications", "rm", ruleId, .. org])).Expect(0);
        Assert.DoesNotContain((await Deck(["notifications", "ls", .. org])).Expect(0).Stdout, l => l.StartsWith(ruleId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_rules_are_refused_naming_what_is_wrong_and_another_organizations_rules_are_not_found()
    {
        var api = await StartApiAsync();
        var user = await LoggedInAsync(api);
        var stranger = await SignUpAsync(api, "stranger@example.com");
        var url = api.BaseAddress.ToString();

        var noUrl = (await Deck(["notifications", "add", "--channel", "webhook", "--event", "deployment.ready", "--org", user.Organization, "--api", url])).Expect(1);
        Assert.Contains("url", Assert.Single(noUrl.Stderr), StringComparison.Ordinal);
        var loopback = (await Deck(["notifications", "add", "--channel", "webhook", "--event", "deployment.ready", "--url", "http://127.0.0.1:9/hook",
            "--org", user.Organization, "--api", url])).Expect(1);
        Assert.Contains("AllowPrivateWebhookTargets", Assert.Single(loopback.Stderr), StringComparison.Ordinal);
        (await Deck(["notifications", "add", "--channel", "fax", "--event", "deployment.ready", "--org", user.Organization, "--api", url])).Expect(2);

        var foreign = (await Deck(["notifications", "ls", "--org", stranger.Organization, "--api", url])).Expect(1);
        Assert.Contains("404", Assert.Single(foreign.Stderr), StringComparison.Ordinal);
        Assert.Contains("no notification rules", (await Deck(["notifications", "ls", "--org", user.Organization, "--api", url])).Expect(0).Output, StringComparison.Ordinal);
    }
}
