using System.Net;
using CloudDeck.GrainInterfaces.Domains;
using CloudDeck.Grains.Domains;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Domains;

/// <summary>
/// Custom domains through the API with a real DNS server (dnsmasq) and the real edge on Kestrel; certificates are off
/// here (<c>CloudDeck:Domains:Acme:Enabled=false</c>), <see cref="DomainCertificateTests"/> has them.
/// </summary>
public sealed class DomainApiTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_base_domain_an_IP_literal_localhost_and_malformed_names_are_refused_with_a_400_naming_the_reason()
    {
        await using var stack = await DomainStack.StartAsync(acme: false);
        var tenant = await stack.TenantWithProductionAsync("owner@shop.test", "web", "<h1>shop</h1>");
        (string Domain, string Reason)[] refused =
        [
            (DomainStack.BaseDomain, "base domain"),
            ("web-owner." + DomainStack.BaseDomain, "base domain"),
            ("192.0.2.10", "IP address"),
            ("[2001:db8::1]", "IP address"),
            ("2001:db8::1", "IP address"),
            ("localhost", "localhost"),
            ("app.localhost", "localhost"),
            ("shop..example.com", "malformed"),
            ("-shop.example.com", "malformed"),
            ("shop_1.example.com", "malformed"),
            ("example", "two labels"),
            ("*.example.com", "wildcard"),
            ("", "empty"),
        ];
        foreach (var (domain, reason) in refused)
        {
            var answer = (await stack.Api.PostAsync(tenant.Domains, new { domain }, tenant.Token)).Expect(HttpStatusCode.BadRequest);
            var problem = answer["errors"]?["domain"]?[0]?.GetValue<string>();
            Assert.True(problem?.Contains(reason, StringComparison.Ordinal) == true, $"'{domain}': expected a reason with '{reason}', got {answer.ToJsonString()}");
        }

        var badRedirect = (await stack.Api.PostAsync(tenant.Domains, new { domain = "shop.example.com", redirect = "to_www", hsts = "yes" }, tenant.Token))
            .Expect(HttpStatusCode.BadRequest);
        Assert.NotNull(badRedirect["errors"]?["hsts"]);
        // A www redirect on a name that is already www. is refused by the grain, naming the field.
        var wwwOnWww = (await stack.Api.PostAsync(tenant.Domains, new { domain = "www.example.com", redirect = "to_www" }, tenant.Token)).Expect(HttpStatusCode.BadRequest);
        Assert.Contains("www", wwwOnWww["errors"]!["redirect"]![0]!.GetValue<string>());
        Assert.Empty((await stack.Api.GetAsync(tenant.Domains, tenant.Token)).Expect(HttpStatusCode.OK)["items"]!.AsArray());
    }

    [Fact]
    public async Task Another_tenants_domain_is_a_409_and_another_tenants_project_is_a_404()
    {
        await using var stack = await DomainStack.StartAsync(acme: false);
        var acme = await stack.TenantWithProductionAsync("owner@acme.test", "web", "<h1>acme</h1>");
        var globex = await stack.TenantWithProductionAsync("owner@globex.test", "site", "<h1>globex</h1>");
        (await stack.Api.PostAsync(acme.Domains, new { domain = "Shop.Example.COM." }, acme.Token)).Expect(HttpStatusCode.Created);

        var taken = (await stack.Api.PostAsync(globex.Domains, new { domain = "shop.example.com" }, globex.Token)).Expect(HttpStatusCode.Conflict);
        Assert.DoesNotContain(acme.Organization, taken.ToJsonString());
        // Adding it again to the project that holds it changes nothing.
        var again = (await stack.Api.PostAsync(acme.Domains, new { domain = "shop.example.com" }, acme.Token)).Expect(HttpStatusCode.Created);
        Assert.Equal("shop.example.com", again.Str("domain"));

        (await stack.Api.GetAsync(acme.Domains, globex.Token)).Expect(HttpStatusCode.NotFound);
        (await stack.Api.PostAsync(acme.Domains, new { domain = "other.example.com" }, globex.Token)).Expect(HttpStatusCode.NotFound);
        (await stack.Api.GetAsync($"{acme.Domains}/shop.example.com", globex.Token)).Expect(HttpStatusCode.NotFound);
        (await stack.Api.PostAsync($"{acme.Domains}/shop.example.com/verify", null, globex.Token)).Expect(HttpStatusCode.NotFound);
        (await stack.Api.SendAsync(HttpMethod.Delete, $"{acme.Domains}/shop.example.com", null, globex.Token)).Expect(HttpStatusCode.NotFound);
        // Globex asking its own project about acme's domain: not there.
        (await stack.Api.GetAsync($"{globex.Domains}/shop.example.com", globex.Token)).Expect(HttpStatusCode.NotFound);

        // Removed, it is anyone's.
        (await stack.Api.SendAsync(HttpMethod.Delete, $"{acme.Domains}/shop.example.com", null, acme.Token)).Expect(HttpStatusCode.NoContent);
        (await stack.Api.PostAsync(globex.Domains, new { domain = "shop.example.com" }, globex.Token)).Expect(HttpStatusCode.Created);
        Assert.Empty((await stack.Api.GetAsync(acme.Domains, acme.Token)).Expect(HttpStatusCode.OK)["items"]!.AsArray());

        // Deleting a project frees its domains.
        (await stack.Api.SendAsync(HttpMethod.Delete, $"/api/v1/orgs/{globex.Organization}/projects/{globex.Project}", null, globex.Token)).Expect(HttpStatusCode.NoContent);
        (await stack.Api.PostAsync(acme.Domains, new { domain = "shop.example.com" }, acme.Token)).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_TXT_record_verifies_the_domain_and_the_edge_then_serves_the_projects_production_deployment_there()
    {
        await using var stack = await DomainStack.StartAsync(acme: false);
        var tenant = await stack.TenantWithProductionAsync("owner@shop.test", "web", "<h1>the shop</h1>");
        var added = (await stack.Api.PostAsync(tenant.Domains, new { domain = "shop.example.com" }, tenant.Token)).Expect(HttpStatusCode.Created);
        Assert.Equal(DomainStatuses.Pending, added.Str("status"));
        var verification = added.Field("verification")!;
        Assert.Equal("_clouddeck-challenge.shop.example.com", verification.Str("txt_name"));
        var token = verification.Str("txt_value")!;
        Assert.Contains("No TXT record _clouddeck-challenge.shop.example.com", verification.Str("problem"));
        // Not verified: the edge does not serve it.
        Assert.DoesNotContain("the shop", (await stack.GetOverHttpAsync("shop.example.com")).Body);

        // A wrong value does not verify it; the right one does.
        await stack.Dns.SetAsync(Txt("shop.example.com", "clouddeck-verify=not-the-token"), Cancellation);
        var wrong = (await stack.Api.PostAsync($"{tenant.Domains}/shop.example.com/verify", null, tenant.Token)).Expect(HttpStatusCode.OK);
        Assert.Equal(DomainStatuses.Pending, wrong.Str("status"));
        Assert.Contains("not-the-token", wrong.Field("verification")!.Str("problem"));
        await stack.Dns.SetAsync(Txt("shop.example.com", token), Cancellation);
        var verified = (await stack.Api.PostAsync($"{tenant.Domains}/shop.example.com/verify", null, tenant.Token)).Expect(HttpStatusCode.OK);
        Assert.Equal(DomainStatuses.Verified, verified.Str("status"));
        Assert.Null(verified.Field("verification")!.Field("problem"));

        var served = await WaitForAsync(() => stack.GetOverHttpAsync("shop.example.com"), answer => answer.Status == HttpStatusCode.OK && answer.Body.Contains("the shop"));
        Assert.Equal(HttpStatusCode.OK, served.Status);
        // No certificate (ACME is off here): plain HTTP is served, never redirected to an HTTPS that has nothing for it.
        Assert.Null(served.Response.Headers.Location);

        // Removed: the edge stops serving it at once (the domain stream), and the name is free again.
        (await stack.Api.SendAsync(HttpMethod.Delete, $"{tenant.Domains}/shop.example.com", null, tenant.Token)).Expect(HttpStatusCode.NoContent);
        await WaitForAsync(() => stack.GetOverHttpAsync("shop.example.com"), answer => !answer.Body.Contains("the shop"));
    }

    [Fact]
    public async Task A_pending_domain_is_checked_again_by_its_reminder_and_listed_a_page_at_a_time()
    {
        await using var stack = await DomainStack.StartAsync(acme: false);
        var tenant = await stack.TenantWithProductionAsync("owner@shop.test", "web", "<h1>the shop</h1>");
        string[] names = ["a.example.com", "b.example.com", "c.example.com"];
        var tokens = new Dictionary<string, string>();
        foreach (var name in names)
        {
            tokens[name] = (await stack.Api.PostAsync(tenant.Domains, new { domain = name }, tenant.Token)).Expect(HttpStatusCode.Created)
                .Field("verification")!.Str("txt_value")!;
        }

        var grain = stack.Api.Grains.GetGrain<IDomainGrain>("b.example.com");
        var reminder = await stack.Api.Services.GetRequiredService<IReminderTable>().ReadRow(grain.GetGrainId(), DomainGrain.CheckReminder, Cancellation);
        Assert.Equal(stack.Api.Services.GetRequiredService<DomainOptions>().CheckPeriod, reminder?.Period);

        // What the reminder runs: the DNS is asked again, and the record now there verifies the domain.
        await stack.Dns.SetAsync(Txt("b.example.com", tokens["b.example.com"]), Cancellation);
        var checkedView = await grain.Check();
        Assert.Equal(DomainStatuses.Verified, checkedView?.Status);

        var first = (await stack.Api.GetAsync($"{tenant.Domains}?limit=2", tenant.Token)).Expect(HttpStatusCode.OK);
        Assert.Equal(["a.example.com", "b.example.com"], first["items"]!.AsArray().Select(i => i!.Str("domain")));
        Assert.Equal([DomainStatuses.Pending, DomainStatuses.Verified], first["items"]!.AsArray().Select(i => i!.Str("status")));
        var cursor = first.Str("next_cursor");
        Assert.NotNull(cursor);
        var second = (await stack.Api.GetAsync($"{tenant.Domains}?limit=2&cursor={cursor}", tenant.Token)).Expect(HttpStatusCode.OK);
        Assert.Equal(["c.example.com"], second["items"]!.AsArray().Select(i => i!.Str("domain")));
        Assert.Null(second.Field("next_cursor"));
        (await stack.Api.GetAsync($"{tenant.Domains}?limit=0", tenant.Token)).Expect(HttpStatusCode.BadRequest);

        // Removing the domain ends its reminder.
        (await stack.Api.SendAsync(HttpMethod.Delete, $"{tenant.Domains}/b.example.com", null, tenant.Token)).Expect(HttpStatusCode.NoContent);
        Assert.Null(await stack.Api.Services.GetRequiredService<IReminderTable>().ReadRow(grain.GetGrainId(), DomainGrain.CheckReminder, Cancellation));
    }

    [Fact]
    public async Task A_www_domain_set_to_redirect_sends_visitors_to_its_apex_and_back_when_changed()
    {
        await using var stack = await DomainStack.StartAsync(acme: false);
        var tenant = await stack.TenantWithProductionAsync("owner@shop.test", "web", "<h1>the shop</h1>");
        var apexToken = (await stack.Api.PostAsync(tenant.Domains, new { domain = "example.com" }, tenant.Token)).Expect(HttpStatusCode.Created)
            .Field("verification")!.Str("txt_value")!;
        var wwwToken = (await stack.Api.PostAsync(tenant.Domains, new { domain = "www.example.com", redirect = "to_apex" }, tenant.Token))
            .Expect(HttpStatusCode.Created).Field("verification")!.Str("txt_value")!;
        await stack.Dns.SetAsync(new DnsServer.Records(
            new Dictionary<string, string> { ["example.com"] = "127.0.0.1" },
            new Dictionary<string, string> { [DomainNames.ChallengeName("example.com")] = apexToken, [DomainNames.ChallengeName("www.example.com")] = wwwToken }), Cancellation);
        foreach (var domain in new[] { "example.com", "www.example.com" })
        {
            Assert.Equal(DomainStatuses.Verified, (await stack.Api.PostAsync($"{tenant.Domains}/{domain}/verify", null, tenant.Token)).Expect(HttpStatusCode.OK).Str("status"));
        }

        var redirected = await WaitForAsync(() => stack.GetOverHttpAsync("www.example.com", "/cart?item=3"), a => a.Status == HttpStatusCode.PermanentRedirect);
        Assert.Equal($"http://example.com:{stack.HttpPort}/cart?item=3", redirected.Response.Headers.Location?.ToString());
        Assert.Contains("the shop", (await stack.GetOverHttpAsync("example.com")).Body);

        // Changed to no redirect: www serves the site itself.
        var changed = (await stack.Api.SendAsync(HttpMethod.Patch, $"{tenant.Domains}/www.example.com", new { redirect = "none" }, tenant.Token)).Expect(HttpStatusCode.OK);
        Assert.Equal("none", changed.Str("redirect"));
        var served = await WaitForAsync(() => stack.GetOverHttpAsync("www.example.com"), a => a.Status == HttpStatusCode.OK);
        Assert.Contains("the shop", served.Body);
        (await stack.Api.SendAsync(HttpMethod.Patch, $"{tenant.Domains}/example.com", new { redirect = "to_apex" }, tenant.Token)).Expect(HttpStatusCode.BadRequest);
    }

    private static DnsServer.Records Txt(string domain, string value) => new(
        new Dictionary<string, string> { [domain] = "127.0.0.1" },
        new Dictionary<string, string> { [DomainNames.ChallengeName(domain)] = value });

    internal static async Task<T> WaitForAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(50, Cancellation);
        }
    }
}
