using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Domains;

/// <summary>
/// The real API on Kestrel (plain HTTP on one port, the HTTPS edge on another), a real DNS server (dnsmasq) that the
/// domain checks ask, and, for certificate tests, a real ACME server (Pebble) that resolves through the same dnsmasq
/// and validates HTTP-01 on the API's HTTP port.
/// </summary>
public sealed class DomainStack : IAsyncDisposable
{
    public const string BaseDomain = "deck.test";

    private DomainStack(DnsServer dns, PebbleServer? pebble, InProcessApi api, int httpPort, int httpsPort)
    {
        Dns = dns;
        Pebble = pebble;
        Api = api;
        HttpPort = httpPort;
        HttpsPort = httpsPort;
    }

    public DnsServer Dns { get; }

    public PebbleServer? Pebble { get; }

    public InProcessApi Api { get; }

    public int HttpPort { get; }

    public int HttpsPort { get; }

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public static async Task<DomainStack> StartAsync(bool acme, int nonceRejectPercent = 0, DnsServer.Records? records = null)
    {
        Need.Component(Requirement.Check(DnsServer.Binary is not null, "dnsmasq", "apt-get install dnsmasq"));
        if (acme)
        {
            Need.Component(Requirement.Check(PebbleServer.Binary is not null, "pebble", "apt-get install pebble"));
            Need.Component(Requirement.Check(PebbleServer.OpenSsl is not null, "openssl", "apt-get install openssl"));
        }

        var dns = await DnsServer.StartAsync(records ?? DnsServer.Records.None, Cancellation);
        var httpPort = ChildProcess.FreeTcpPort();
        var httpsPort = ChildProcess.FreeTcpPort();
        PebbleServer? pebble = null;
        try
        {
            if (acme) pebble = await PebbleServer.StartAsync(dns.Endpoint, httpPort, nonceRejectPercent, Cancellation);
            var settings = new Dictionary<string, string?>
            {
                ["urls"] = $"http://127.0.0.1:{httpPort}",
                ["CloudDeck:Edge:BaseDomain"] = BaseDomain,
                ["CloudDeck:Edge:Https:Port"] = httpsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["CloudDeck:Edge:Https:ListenAddress"] = "127.0.0.1",
                ["CloudDeck:Domains:DnsServers:0"] = dns.Endpoint,
                ["CloudDeck:Domains:Acme:Enabled"] = acme ? "true" : "false",
                ["CloudDeck:Domains:Acme:DirectoryUrl"] = pebble?.DirectoryUrl ?? "https://127.0.0.1:1/dir",
                ["CloudDeck:Domains:Acme:TrustedRootPath"] = pebble?.TlsCertificatePath,
                ["CloudDeck:Domains:Acme:OrderTimeout"] = "00:00:30",
                ["CloudDeck:Domains:FirstRetryDelay"] = "00:05:00",
            };
            var api = new InProcessApi(settings: settings);
            api.UseKestrel();
            api.StartServer();
            api.BaseAddress = new Uri($"http://127.0.0.1:{httpPort}/");
            return new DomainStack(dns, pebble, api, httpPort, httpsPort);
        }
        catch
        {
            if (pebble is not null) await pebble.DisposeAsync();
            await dns.DisposeAsync();
            throw;
        }
    }

    /// <summary>A verified user with a project (static files) whose production deployment serves <paramref name="page"/>.</summary>
    public async Task<Tenant> TenantWithProductionAsync(string email, string project, string page)
    {
        var account = await Api.SignUpAndLoginAsync(email, verifyEmail: true);
        var organization = account.PersonalOrganization;
        (await Api.PostAsync($"/api/v1/orgs/{organization}/projects", new { name = project, framework = "static" }, account.AccessToken)).Expect(HttpStatusCode.Created);
        var bytes = Encoding.UTF8.GetBytes(page);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var store = Api.Services.GetRequiredService<IArtifactStore>();
        await store.PutAsync(sha, bytes.Length, new MemoryStream(bytes), Cancellation);
        await store.GrantAsync(organization, [sha], Cancellation);
        var caller = new Caller(account.UserId, email, "10.0.0.1", EmailVerified: true);
        var view = await Api.Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(organization, project)).Deploy(caller,
            new DeploymentSource(Files: [new ManifestFile("index.html", sha, bytes.Length)]), DeploymentTargets.Production);
        var deployment = Api.Grains.GetGrain<IDeploymentGrain>(view.Id);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (view.Status == DeploymentStatuses.Building && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, Cancellation);
            view = await deployment.Get(caller);
        }

        Assert.True(view.Status == DeploymentStatuses.Ready, $"Deployment {view.Id} is {view.Status}: {view.Error}");
        return new Tenant(account, organization, project);
    }

    public sealed record Tenant(Account Account, string Organization, string Project)
    {
        public string Domains => $"/api/v1/orgs/{Organization}/projects/{Project}/domains";

        public string? Token => Account.AccessToken;
    }

    /// <summary>A plain HTTP request to the edge with <paramref name="host"/> as its Host.</summary>
    public async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetOverHttpAsync(string host, string path = "/")
    {
        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{HttpPort}{path}");
        request.Headers.Host = $"{host}:{HttpPort}";
        var response = await client.SendAsync(request, Cancellation);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Cancellation), response);
    }

    /// <summary>
    /// An HTTPS request to the edge for <paramref name="host"/> (SNI and Host), trusting only Pebble's root; answers the
    /// status, the body, the headers and the certificate the edge presented.
    /// </summary>
    public async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response, X509Certificate2 Certificate)> GetOverHttpsAsync(string host, string path = "/")
    {
        X509Certificate2? presented = null;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(Pebble!.RootPem);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (_, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, HttpsPort, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
        {
            presented = new X509Certificate2(certificate!);
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(roots);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null) custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).ToArray());
            return (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && custom.Build(presented);
        };
        using var client = new HttpClient(handler);
        var response = await client.GetAsync($"https://{host}:{HttpsPort}{path}", Cancellation);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Cancellation), response, presented!);
    }

    /// <summary><c>openssl s_client -servername</c> against the HTTPS port: what it printed on stdout (chain, verification).</summary>
    public async Task<string> OpenSslAsync(string serverName)
    {
        await using var openssl = ChildProcess.Start("openssl",
        [
            "s_client", "-connect", $"127.0.0.1:{HttpsPort}", "-servername", serverName, "-showcerts", "-CAfile", Pebble!.RootPath,
            "-verify_hostname", serverName,
        ]);
        openssl.StandardInput.Close();
        Assert.True(await openssl.WaitForExitAsync(TimeSpan.FromSeconds(20), Cancellation), $"openssl s_client did not finish:\n{openssl.Output}");
        // Its stdout alone: stderr lines (marked "! ") arrive on their own pipe and may land inside a PEM block of the
        // merged output.
        return string.Join('\n', openssl.Output.Split('\n').Where(line => !line.StartsWith("! ", StringComparison.Ordinal)));
    }

    /// <summary>Polls the domain's view (through the API) until <paramref name="done"/> holds or a minute passes.</summary>
    public async Task<JsonNode> WaitForDomainAsync(Tenant tenant, string domain, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var view = (await Api.GetAsync($"{tenant.Domains}/{domain}", tenant.Token)).Expect(HttpStatusCode.OK);
            if (done(view)) return view;
            Assert.True(DateTime.UtcNow < deadline, $"The domain never reached the expected state: {view.ToJsonString()}\nDNS:\n{Dns.Output}\nPebble:\n{Pebble?.Process.Output}");
            await Task.Delay(100, Cancellation);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Api.DisposeAsync();
        if (Pebble is not null) await Pebble.DisposeAsync();
        await Dns.DisposeAsync();
    }
}

/// <summary>Reads answers whichever JSON naming the API uses (snake_case is the contract; camelCase was the default before it).</summary>
internal static class ContractJson
{
    public static JsonNode? Field(this JsonNode node, string snakeName)
    {
        if (node[snakeName] is { } value) return value;
        var parts = snakeName.Split('_');
        return node[parts[0] + string.Concat(parts.Skip(1).Select(p => char.ToUpperInvariant(p[0]) + p[1..]))];
    }

    public static string? Str(this JsonNode node, string snakeName) => node.Field(snakeName)?.GetValue<string>();
}
