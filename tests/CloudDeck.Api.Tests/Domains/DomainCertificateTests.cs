using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using CloudDeck.GrainInterfaces.Domains;
using CloudDeck.Grains.Domains;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Domains;

/// <summary>
/// Certificates for custom domains from a real ACME server (Debian's Pebble) that validates HTTP-01 against the real edge
/// on Kestrel, names resolved by a real dnsmasq; what the edge presents is read with <c>openssl s_client</c> and an
/// HttpClient trusting only Pebble's root.
/// </summary>
public sealed class DomainCertificateTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_verified_domain_gets_a_Pebble_certificate_served_by_SNI_with_its_chain_and_plain_HTTP_redirects_to_HTTPS()
    {
        await using var stack = await DomainStack.StartAsync(acme: true);
        var tenant = await stack.TenantWithProductionAsync("owner@shop.test", "web", "<h1>the shop</h1>");
        var view = await AddAndVerifyAsync(stack, tenant, "shop.example.com", hsts: true);
        var certificate = view.Field("certificate")!;
        Assert.Contains("Pebble", certificate.Str("issuer"));
        Assert.Null(certificate.Field("error"));
        Assert.Equal(0, certificate.Field("failed_attempts")!.GetValue<int>());

        var openssl = await WaitForOpenSslAsync(stack, "shop.example.com", output => output.Contains("Verify return code: 0 (ok)", StringComparison.Ordinal));
        Assert.Contains("Verify return code: 0 (ok)", openssl);
        Assert.Contains("Pebble Intermediate CA", openssl);
        var chain = PemCertificates(openssl);
        Assert.True(chain.Count >= 2, $"The edge should send the leaf and its intermediate:\n{openssl}");
        Assert.Equal("shop.example.com", chain[0].GetNameInfo(X509NameType.DnsName, forIssuer: false));

        var https = await stack.GetOverHttpsAsync("shop.example.com");
        Assert.Equal(HttpStatusCode.OK, https.Status);
        Assert.Contains("the shop", https.Body);
        Assert.Equal(chain[0].Thumbprint, https.Certificate.Thumbprint);
        Assert.Equal("max-age=31536000", https.Response.Headers.GetValues("Strict-Transport-Security").Single());

        var plain = await stack.GetOverHttpAsync("shop.example.com", "/pricing?plan=pro");
        Assert.Equal(HttpStatusCode.PermanentRedirect, plain.Status);
        Assert.Equal($"https://shop.example.com:{stack.HttpsPort}/pricing?plan=pro", plain.Response.Headers.Location?.ToString());

        // The certificate and its key are stored sealed: neither the PEM nor the key appears in the database file.
        var database = await File.ReadAllBytesAsync(Path.Combine(stack.Api.DataDirectory, "clouddeck.db"), Cancellation);
        var text = System.Text.Encoding.Latin1.GetString(database);
        Assert.DoesNotContain("BEGIN CERTIFICATE", text);
        Assert.DoesNotContain("PRIVATE KEY", text);
    }

    [Fact]
    public async Task Two_domains_of_two_projects_on_one_port_each_get_their_own_certificate_by_SNI()
    {
        await using var stack = await DomainStack.StartAsync(acme: true);
        var acme = await stack.TenantWithProductionAsync("owner@acme.test", "web", "<h1>acme</h1>");
        var globex = await stack.TenantWithProductionAsync("owner@globex.test", "site", "<h1>globex</h1>");
        await AddAndVerifyAsync(stack, acme, "www.acme.example");
        await AddAndVerifyAsync(stack, globex, "globex.example");

        foreach (var (domain, page) in new[] { ("www.acme.example", "acme"), ("globex.example", "globex") })
        {
            var openssl = await WaitForOpenSslAsync(stack, domain, output => output.Contains("Verify return code: 0 (ok)", StringComparison.Ordinal));
            var leaf = PemCertificates(openssl)[0];
            Assert.True(domain == leaf.GetNameInfo(X509NameType.DnsName, forIssuer: false), $"{domain}: the first certificate sent is not the domain's:\n{openssl}");
            var https = await stack.GetOverHttpsAsync(domain);
            Assert.Equal(leaf.Thumbprint, https.Certificate.Thumbprint);
            Assert.Contains($"<h1>{page}</h1>", https.Body);
        }

        // A name with no certificate of its own gets none (no operator certificate is configured): the handshake fails.
        var unknown = await stack.OpenSslAsync("nobody.example");
        Assert.DoesNotContain("BEGIN CERTIFICATE", unknown);
    }

    [Fact]
    public async Task Past_the_renewal_point_the_reminder_renews_the_certificate_and_the_edge_serves_the_new_one_without_a_restart()
    {
        await using var stack = await DomainStack.StartAsync(acme: true);
        var tenant = await stack.TenantWithProductionAsync("owner@shop.test", "web", "<h1>the shop</h1>");
        var first = (await AddAndVerifyAsync(stack, tenant, "shop.example.com")).Field("certificate")!;
        var firstLeaf = PemCertificates(await WaitForOpenSslAsync(stack, "shop.example.com", o => o.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal)))[0];
        var notAfter = first.Field("not_after")!.GetValue<DateTimeOffset>();
        var renewBefore = stack.Api.Services.GetRequiredService<DomainOptions>().RenewBefore;
        Assert.Equal(TimeSpan.FromDays(30), renewBefore);
        var grain = stack.Api.Grains.GetGrain<IDomainGrain>("shop.example.com");

        var firstVersion = (await grain.GetCertificate())!.Version;

        // Before the renewal point the reminder leaves the certificate alone.
        stack.Api.Clock.Set(notAfter - renewBefore - TimeSpan.FromHours(1));
        var early = await grain.Check();
        Assert.Equal(notAfter, early!.Certificate.NotAfter);
        Assert.Equal(firstVersion, (await grain.GetCertificate())!.Version);

        // Past it, the reminder orders a new one (Pebble dates certificates to the second, so the expiry may even match).
        stack.Api.Clock.Set(notAfter - renewBefore + TimeSpan.FromMinutes(1));
        var renewed = await grain.Check();
        Assert.Equal(CertificateStatuses.Issued, renewed!.Certificate.Status);
        Assert.Equal(firstVersion + 1, (await grain.GetCertificate())!.Version);

        var openssl = await WaitForOpenSslAsync(stack, "shop.example.com", o => PemCertificates(o) is [var leaf, ..] && leaf.Thumbprint != firstLeaf.Thumbprint);
        var servedLeaf = PemCertificates(openssl)[0];
        Assert.NotEqual(firstLeaf.Thumbprint, servedLeaf.Thumbprint);
        Assert.Equal(renewed.Certificate.NotAfter, new DateTimeOffset(servedLeaf.NotAfter.ToUniversalTime()));
        var https = await stack.GetOverHttpsAsync("shop.example.com");
        Assert.Equal(servedLeaf.Thumbprint, https.Certificate.Thumbprint);
        Assert.Contains("the shop", https.Body);
    }

    [Fact]
    public async Task A_failed_challenge_is_retried_with_backoff_its_reason_visible_while_the_domain_stays_on_plain_HTTP()
    {
        // Pebble refuses a quarter of all good nonces (badNonce, which the client retries), and the domain first points
        // where no edge listens, so Pebble's HTTP-01 validation fails for real.
        await using var stack = await DomainStack.StartAsync(acme: true, nonceRejectPercent: 25);
        var tenant = await stack.TenantWithProductionAsync("owner@shop.test", "web", "<h1>the shop</h1>");
        var token = (await stack.Api.PostAsync(tenant.Domains, new { domain = "shop.example.com" }, tenant.Token)).Expect(HttpStatusCode.Created)
            .Field("verification")!.Str("txt_value")!;
        await stack.Dns.SetAsync(Records("shop.example.com", token, address: "127.0.0.2"), Cancellation);
        (await stack.Api.PostAsync($"{tenant.Domains}/shop.example.com/verify", null, tenant.Token)).Expect(HttpStatusCode.OK);

        var failed = await stack.WaitForDomainAsync(tenant, "shop.example.com", v => v.Field("certificate")!.Str("status") == CertificateStatuses.Failed);
        var certificate = failed.Field("certificate")!;
        // Pebble's own problem type and detail: it could not connect to the address the domain named.
        Assert.StartsWith("connection: shop.example.com: http-01 challenge invalid", certificate.Str("error"));
        Assert.Contains("127.0.0.2", certificate.Str("error"));
        Assert.Equal(1, certificate.Field("failed_attempts")!.GetValue<int>());
        var nextAttempt = certificate.Field("next_attempt_at")!.GetValue<DateTimeOffset>();
        Assert.Equal(stack.Api.Clock.GetUtcNow() + TimeSpan.FromMinutes(5), nextAttempt);

        // Nothing served broken: plain HTTP serves the site without a redirect, and HTTPS has no certificate for it.
        var plain = await stack.GetOverHttpAsync("shop.example.com");
        Assert.Equal(HttpStatusCode.OK, plain.Status);
        Assert.Contains("the shop", plain.Body);
        Assert.DoesNotContain("BEGIN CERTIFICATE", await stack.OpenSslAsync("shop.example.com"));

        // Before the back-off ends the reminder does not order again.
        var grain = stack.Api.Grains.GetGrain<IDomainGrain>("shop.example.com");
        stack.Api.Clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(1, (await grain.Check())!.Certificate.FailedAttempts);

        // Still failing after it: the back-off doubles.
        stack.Api.Clock.Advance(TimeSpan.FromMinutes(1));
        var second = (await grain.Check())!.Certificate;
        Assert.Equal(2, second.FailedAttempts);
        Assert.Equal(stack.Api.Clock.GetUtcNow() + TimeSpan.FromMinutes(10), second.NextAttemptAt);

        // The DNS fixed: the next attempt issues, and the edge serves it.
        await stack.Dns.SetAsync(Records("shop.example.com", token, address: "127.0.0.1"), Cancellation);
        stack.Api.Clock.Advance(TimeSpan.FromMinutes(10));
        var issued = (await grain.Check())!.Certificate;
        Assert.True(issued.Status == CertificateStatuses.Issued, $"{issued}\nPebble:\n{stack.Pebble!.Process.Output}");
        Assert.Null(issued.Error);
        Assert.Equal(0, issued.FailedAttempts);
        Assert.Contains("Verify return code: 0 (ok)", await WaitForOpenSslAsync(stack, "shop.example.com", o => o.Contains("Verify return code: 0 (ok)", StringComparison.Ordinal)));
    }

    private static DnsServer.Records Records(string domain, string token, string address = "127.0.0.1") => new(
        new Dictionary<string, string> { [domain] = address },
        new Dictionary<string, string> { [DomainNames.ChallengeName(domain)] = token });

    /// <summary>Adds the domain, points it at the edge with its TXT record, verifies it and waits for its certificate.</summary>
    private static async Task<JsonNode> AddAndVerifyAsync(DomainStack stack, DomainStack.Tenant tenant, string domain, bool hsts = false)
    {
        var added = (await stack.Api.PostAsync(tenant.Domains, new { domain, hsts }, tenant.Token)).Expect(HttpStatusCode.Created);
        var records = new Dictionary<string, string>();
        var texts = new Dictionary<string, string>();
        lock (Known)
        {
            Known[(stack, domain)] = added.Field("verification")!.Str("txt_value")!;
            foreach (var ((owner, name), value) in Known.Where(k => k.Key.Stack == stack))
            {
                records[name] = "127.0.0.1";
                texts[DomainNames.ChallengeName(name)] = value;
            }
        }

        await stack.Dns.SetAsync(new DnsServer.Records(records, texts), Cancellation);
        var verified = (await stack.Api.PostAsync($"{tenant.Domains}/{domain}/verify", null, tenant.Token)).Expect(HttpStatusCode.OK);
        Assert.Equal(DomainStatuses.Verified, verified.Str("status"));
        return await stack.WaitForDomainAsync(tenant, domain, v => v.Field("certificate")!.Str("status") != CertificateStatuses.Pending);
    }

    /// <summary>The TXT values of every domain a stack was given, so one more domain keeps the others' records.</summary>
    private static readonly Dictionary<(DomainStack Stack, string Domain), string> Known = [];

    private static async Task<string> WaitForOpenSslAsync(DomainStack stack, string serverName, Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var output = await stack.OpenSslAsync(serverName);
            if (done(output)) return output;
            Assert.True(DateTime.UtcNow < deadline, $"openssl never saw what was expected for {serverName}:\n{output}");
            await Task.Delay(200, Cancellation);
        }
    }

    private static List<X509Certificate2> PemCertificates(string text)
    {
        var certificates = new X509Certificate2Collection();
        if (text.Contains("BEGIN CERTIFICATE", StringComparison.Ordinal)) certificates.ImportFromPem(text);
        return [.. certificates];
    }
}
