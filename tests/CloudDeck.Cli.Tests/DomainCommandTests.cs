using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;

namespace CloudDeck.Cli.Tests;

/// <summary><c>deck domains add|ls|verify|rm</c> against a real API process whose DNS checks ask a real dnsmasq.</summary>
public sealed partial class DomainCommandTests : DeckProcessTest
{
    [Fact]
    public async Task Domains_add_shows_the_TXT_record_verify_accepts_it_once_set_ls_shows_the_state_and_rm_removes_it()
    {
        Need.Component(Requirement.Check(DnsServer.Binary is not null, "dnsmasq", "apt-get install dnsmasq"));
        await using var dns = await DnsServer.StartAsync(DnsServer.Records.None, Cancellation);
        var api = await StartApiAsync(new Dictionary<string, string?>
        {
            ["CloudDeck__Domains__DnsServers__0"] = dns.Endpoint,
            ["CloudDeck__Domains__Acme__Enabled"] = "false",
        });
        var user = await LoggedInAsync(api);
        var url = api.BaseAddress.ToString();
        var site = Directory.CreateDirectory(Path.Combine(Work, "site")).FullName;
        await File.WriteAllTextAsync(Path.Combine(site, "index.html"), "<h1>shop</h1>", Cancellation);
        (await Deck(["init", "--api", url, "--org", user.Organization, "--name", "web"], site)).Expect(0);

        var added = (await Deck(["domains", "add", "Shop.Example.com", "--api", url], site)).Expect(0);
        var record = TxtLine().Match(added.Output);
        Assert.True(record.Success, added.Describe());
        Assert.Equal("_clouddeck-challenge.shop.example.com", record.Groups[1].Value);
        Assert.Contains("deck domains verify shop.example.com", added.Output);
        Assert.Contains((await Deck(["domains", "ls", "--api", url], site)).Expect(0).Stdout, Row("shop.example.com", "pending"));

        var refused = (await Deck(["domains", "add", "localhost", "--api", url], site)).Expect(1);
        Assert.Contains(refused.Stderr, line => line.Contains("localhost", StringComparison.Ordinal));

        await dns.SetAsync(new DnsServer.Records(new Dictionary<string, string>(),
            new Dictionary<string, string> { [record.Groups[1].Value] = record.Groups[2].Value }), Cancellation);
        var verified = (await Deck(["domains", "verify", "shop.example.com", "--api", url], site)).Expect(0);
        Assert.Contains("shop.example.com is verified", verified.Output);
        Assert.Contains((await Deck(["domains", "ls", "--api", url], site)).Expect(0).Stdout, Row("shop.example.com", "verified"));

        Assert.Contains("removed shop.example.com", (await Deck(["domains", "rm", "shop.example.com", "--api", url], site)).Expect(0).Output);
        Assert.Contains("no domains", (await Deck(["domains", "ls", "--api", url], site)).Expect(0).Output);
    }

    private static Predicate<string> Row(string domain, string status) =>
        line => line.Contains(domain, StringComparison.Ordinal) && line.Contains(status, StringComparison.Ordinal);

    [GeneratedRegex("TXT\\s+(\\S+)\\s+\"([^\"]+)\"")]
    private static partial Regex TxtLine();
}
