using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.Testing;
using Microsoft.Playwright;

namespace CloudDeck.Dashboard.Tests;

/// <summary>Domains, team changes and licenses done from the pages, each checked at the API afterwards.</summary>
public sealed class ManagementTests : DashboardTest
{
    [Fact]
    public async Task A_domain_is_added_verified_against_real_dns_given_hsts_and_a_redirect_and_removed_from_the_domains_page()
    {
        if (Requirement.Check(DnsServer.Binary is not null, "dnsmasq", "apt-get install dnsmasq") is { } missing)
        {
            if (Requirement.IsCi) Assert.Fail(missing);
            Assert.Skip(missing);
        }

        await using var dns = await DnsServer.StartAsync(DnsServer.Records.None, Cancellation);
        await StartAsync(new Dictionary<string, string?>
        {
            ["CloudDeck__Domains__DnsServers__0"] = dns.Endpoint,
            ["CloudDeck__Domains__Acme__Enabled"] = "false",
        });
        var owner = await VerifiedAsync("owner@shop.test");
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, $"api/v1/orgs/{owner.Organization}/projects", owner.AccessToken, new { name = "web" }), HttpStatusCode.Created);

        var page = await NewPageAsync();
        await LogInAsync(page, owner.Email);
        await page.GotoAsync($"/orgs/{owner.Organization}/projects/web");
        await page.GetByRole(AriaRole.Link, new() { Name = "Domains" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No custom domains yet.")).ToBeVisibleAsync();

        // A name the API refuses: its ProblemDetails' words on the page.
        await page.GetByLabel("Domain").FillAsync("localhost");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add domain" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("localhost");

        await page.GetByLabel("Domain").FillAsync("Shop.Example.com");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add domain" }).ClickAsync();
        var row = page.Locator("tr[data-domain='shop.example.com']");
        await Assertions.Expect(row).ToContainTextAsync("pending");
        var txtName = await row.Locator(".record code").First.InnerTextAsync();
        var txtValue = await row.Locator(".record code.value").InnerTextAsync();
        Assert.Equal("shop.example.com", txtName[(txtName.IndexOf('.') + 1)..]);
        Assert.False(string.IsNullOrWhiteSpace(txtValue));

        // Verified only once the record the page showed is in DNS.
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify shop.example.com" }).ClickAsync();
        await Assertions.Expect(row).ToContainTextAsync("pending");
        await dns.SetAsync(new DnsServer.Records(
            new Dictionary<string, string> { ["shop.example.com"] = "127.0.0.1" },
            new Dictionary<string, string> { [txtName] = txtValue }), Cancellation);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify shop.example.com" }).ClickAsync();
        await Assertions.Expect(row.Locator(".status")).ToHaveTextAsync("verified");
        await Assertions.Expect(row.Locator(".cert")).Not.ToBeEmptyAsync();

        // HSTS and the www redirect from the row's settings form, read back from the API.
        await page.GetByLabel("HSTS for shop.example.com").CheckAsync();
        await page.GetByLabel("Redirect for shop.example.com").SelectOptionAsync("to_www");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save shop.example.com" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("settings were saved");
        using (var saved = await SendAsync(HttpMethod.Get, $"api/v1/orgs/{owner.Organization}/projects/web/domains/shop.example.com", owner.AccessToken))
        {
            var domain = await ExpectAsync(saved, HttpStatusCode.OK);
            Assert.True(domain["hsts"]!.GetValue<bool>());
            Assert.Equal("to_www", domain["redirect"]!.GetValue<string>());
        }

        await Assertions.Expect(page.GetByLabel("HSTS for shop.example.com")).ToBeCheckedAsync();
        await page.GetByLabel("HSTS for shop.example.com").UncheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save shop.example.com" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("HSTS for shop.example.com")).Not.ToBeCheckedAsync();
        await Assertions.Expect(page.GetByLabel("Redirect for shop.example.com")).ToHaveValueAsync("to_www");

        await page.GetByRole(AriaRole.Link, new() { Name = "Remove shop.example.com" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("shop.example.com stops serving");
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove the domain" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No custom domains yet.")).ToBeVisibleAsync();
        using var listed = await SendAsync(HttpMethod.Get, $"api/v1/orgs/{owner.Organization}/projects/web/domains", owner.AccessToken);
        Assert.Empty((await ExpectAsync(listed, HttpStatusCode.OK))["items"]!.AsArray());
    }

    [Fact]
    public async Task Roles_change_members_are_removed_or_leave_an_invitation_is_withdrawn_and_licenses_are_issued_and_revoked_from_the_pages()
    {
        await StartAsync();
        var owner = await VerifiedAsync("owner@acme.test");
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/orgs", owner.AccessToken, new { slug = "acme", name = "Acme" }), HttpStatusCode.Created);
        await ExpectOkAsync(await SendAsync(HttpMethod.Put, "api/v1/orgs/acme/plan", owner.AccessToken, new { plan = "pro" }), HttpStatusCode.OK);
        var developer = await JoinAsync(owner, "dev@acme.test", "developer");
        var leaver = await JoinAsync(owner, "leaver@acme.test", "viewer");

        var page = await NewPageAsync();
        await LogInAsync(page, owner.Email);
        await page.GotoAsync("/orgs/acme/team");
        await page.GetByLabel("Role of dev@acme.test", new() { Exact = true }).SelectOptionAsync("admin");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change role of dev@acme.test" }).ClickAsync();
        await Assertions.Expect(page.GetByText("The role was changed.")).ToBeVisibleAsync();
        Assert.Equal("admin", (await MembersAsync(owner))[developer.Email]);

        await page.GetByRole(AriaRole.Link, new() { Name = "Remove dev@acme.test" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("dev@acme.test loses access");
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove the member" }).ClickAsync();
        await Assertions.Expect(page.GetByText("The member was removed.")).ToBeVisibleAsync();
        Assert.DoesNotContain(developer.Email, (await MembersAsync(owner)).Keys);

        // The viewer leaves on their own: no role controls for them, a Leave link on their own row only.
        var leaverPage = await NewPageAsync();
        await LogInAsync(leaverPage, leaver.Email);
        await leaverPage.GotoAsync("/orgs/acme/team");
        await Assertions.Expect(leaverPage.GetByRole(AriaRole.Button, new() { Name = "Change role of owner@acme.test" })).ToHaveCountAsync(0);
        await Assertions.Expect(leaverPage.GetByRole(AriaRole.Link, new() { Name = "Leave" })).ToHaveCountAsync(1);
        await leaverPage.GetByRole(AriaRole.Link, new() { Name = "Leave" }).ClickAsync();
        await leaverPage.GetByRole(AriaRole.Button, new() { Name = "Leave the organization" }).ClickAsync();
        await leaverPage.WaitForURLAsync(url => url.Contains("/orgs/", StringComparison.Ordinal) && !url.Contains("/orgs/acme", StringComparison.Ordinal));
        Assert.Equal([owner.Email], (await MembersAsync(owner)).Keys);

        // An invitation sent from the page and withdrawn again: the API lists none pending afterwards.
        await page.GotoAsync("/orgs/acme/team");
        await page.GetByLabel("Email", new() { Exact = true }).FillAsync("late@acme.test");
        await page.GetByRole(AriaRole.Button, new() { Name = "Invite" }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-invitation='late@acme.test']")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Withdraw the invitation of late@acme.test" }).ClickAsync();
        await Assertions.Expect(page.GetByText("The invitation was withdrawn")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("No pending invitations.")).ToBeVisibleAsync();
        using (var pending = await SendAsync(HttpMethod.Get, "api/v1/orgs/acme/invitations", owner.AccessToken))
        {
            Assert.Empty((await ExpectAsync(pending, HttpStatusCode.OK))["items"]!.AsArray());
        }

        // A license: issued with its key shown once, which validates; revoked after a confirmation, and then it does not.
        await page.GetByRole(AriaRole.Link, new() { Name = "Licenses" }).ClickAsync();
        await Assertions.Expect(page.GetByText("No licenses issued yet.")).ToBeVisibleAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("Desktop app");
        await page.GetByLabel("Tier", new() { Exact = true }).SelectOptionAsync("PRO");
        await page.GetByRole(AriaRole.Button, new() { Name = "Issue license" }).ClickAsync();
        var key = (await page.Locator("#new-license-key").InnerTextAsync()).Trim();
        Assert.True((await ValidateAsync(key))["valid"]!.GetValue<bool>());
        // The key was on that answer only: the page read again shows the license without it.
        await page.GotoAsync("/orgs/acme/licenses");
        await Assertions.Expect(page.Locator("#new-license-key")).ToHaveCountAsync(0);
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);
        var licenseRow = page.Locator("tr[data-license]");
        await Assertions.Expect(licenseRow).ToContainTextAsync("1 of");
        await Assertions.Expect(licenseRow).ToContainTextAsync("machine-1");

        await page.GetByRole(AriaRole.Link, new() { Name = "Revoke Desktop app" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke the license" }).ClickAsync();
        await Assertions.Expect(page.GetByText("The license was revoked.")).ToBeVisibleAsync();
        await Assertions.Expect(licenseRow.Locator(".status")).ToHaveTextAsync("revoked");
        var refused = await ValidateAsync(key);
        Assert.False(refused["valid"]!.GetValue<bool>());
        Assert.Equal("revoked", refused["reason"]!.GetValue<string>());
    }

    private async Task<JsonNode> ValidateAsync(string key)
    {
        using var answer = await Api.Http.PostAsync("api/v1/licenses/validate",
            System.Net.Http.Json.JsonContent.Create(new { license_key = key, machine_id = "machine-1" }), Cancellation);
        return await ExpectAsync(answer, HttpStatusCode.OK);
    }

    [Fact]
    public async Task An_invitation_link_from_the_email_signs_in_first_and_joins_the_organization_from_its_page()
    {
        await StartAsync();
        var owner = await VerifiedAsync("olive@acme.test");
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/orgs", owner.AccessToken, new { name = "Acme", slug = "acme" }), HttpStatusCode.Created);
        await ExpectOkAsync(await SendAsync(HttpMethod.Put, "api/v1/orgs/acme/plan", owner.AccessToken, new { plan = "pro" }), HttpStatusCode.OK);
        var member = await VerifiedAsync("dev@acme.test");
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/orgs/acme/invitations", owner.AccessToken, new { email = member.Email, role = "developer" }),
            HttpStatusCode.Created);
        var link = await EmailLinkAsync(member.Email, "invitation");

        // Signed out, the link leads through the login page and back to the invitation.
        var page = await NewPageAsync();
        await page.GotoAsync(link.PathAndQuery);
        await page.WaitForURLAsync(url => url.Contains("/login", StringComparison.Ordinal));
        await page.GetByLabel("Email").FillAsync(member.Email);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Join an organization" })).ToBeVisibleAsync();
        Assert.DoesNotContain(member.Email, (await MembersAsync(owner)).Keys);

        await page.GetByRole(AriaRole.Button, new() { Name = "Accept invitation" }).ClickAsync();
        await page.WaitForURLAsync(url => url.EndsWith("/orgs/acme", StringComparison.Ordinal));
        Assert.Equal("developer", (await MembersAsync(owner))[member.Email]);

        // The token is spent: opening the link again and accepting shows the API's refusal in words.
        await page.GotoAsync(link.PathAndQuery);
        await page.GetByRole(AriaRole.Button, new() { Name = "Accept invitation" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).Not.ToBeEmptyAsync();
    }

    private async Task<Dictionary<string, string>> MembersAsync(CloudDeck.Cli.Tests.DeckUser owner)
    {
        using var listed = await SendAsync(HttpMethod.Get, "api/v1/orgs/acme/members", owner.AccessToken);
        return (await ExpectAsync(listed, HttpStatusCode.OK))["items"]!.AsArray()
            .ToDictionary(m => m!["email"]!.GetValue<string>(), m => m!["role"]!.GetValue<string>());
    }

    private async Task<CloudDeck.Cli.Tests.DeckUser> JoinAsync(CloudDeck.Cli.Tests.DeckUser owner, string email, string role)
    {
        var member = await VerifiedAsync(email);
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/orgs/acme/invitations", owner.AccessToken, new { email, role }), HttpStatusCode.Created);
        var invitation = System.Web.HttpUtility.ParseQueryString((await EmailLinkAsync(email, "invitation")).Query)["token"];
        await ExpectOkAsync(await SendAsync(HttpMethod.Post, "api/v1/invitations/accept", member.AccessToken, new { token = invitation }), HttpStatusCode.OK);
        return member;
    }
}
