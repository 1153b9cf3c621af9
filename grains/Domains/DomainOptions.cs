using System.Net;
using CloudDeck.Grains.Acme;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Domains;

/// <summary>Settings under <c>CloudDeck:Domains</c>: how custom domains are verified and given certificates.</summary>
public sealed class DomainOptions
{
    public const string Section = "CloudDeck:Domains";
    public const string LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory";
    public const string LetsEncryptStaging = "https://acme-staging-v02.api.letsencrypt.org/directory";

    /// <summary>DNS servers (<c>address</c> or <c>address:port</c>) the TXT/CNAME/A checks ask; empty uses the system's resolvers.</summary>
    public List<string> DnsServers { get; set; } = [];

    /// <summary>A name a domain may CNAME to instead of a TXT record (for example <c>edge.deck.example.com</c>); none when empty.</summary>
    public string? CnameTarget { get; set; }

    /// <summary>The edge's public addresses: a domain whose A/AAAA records are all among them is verified too.</summary>
    public List<string> EdgeAddresses { get; set; } = [];

    /// <summary>How often each domain's reminder runs (DNS re-checks while pending, certificate orders and renewals). At least a minute.</summary>
    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A certificate is renewed this long before it expires.</summary>
    public TimeSpan RenewBefore { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The wait after a first failed order; each further failure doubles it, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(24);

    public AcmeSettings Acme { get; set; } = new();

    public sealed class AcmeSettings
    {
        /// <summary>Whether verified domains get certificates at all.</summary>
        public bool Enabled { get; set; } = true;

        /// <summary>The ACME directory: Let's Encrypt's production one by default (<see cref="LetsEncryptStaging"/> for trials).</summary>
        public string DirectoryUrl { get; set; } = LetsEncrypt;

        /// <summary>The account's contact address (the CA's expiry notices go there); none when empty.</summary>
        public string? ContactEmail { get; set; }

        /// <summary>A PEM file of one more root trusted for the directory's HTTPS (a private ACME server such as Pebble or step-ca).</summary>
        public string? TrustedRootPath { get; set; }

        /// <summary>How long one order may wait for its challenge to be validated or its certificate issued.</summary>
        public TimeSpan OrderTimeout { get; set; } = TimeSpan.FromMinutes(2);
    }

    /// <summary>The DNS servers as endpoints (port 53 unless given).</summary>
    public IReadOnlyList<IPEndPoint> DnsEndpoints() => [.. DnsServers.Select(ParseEndpoint)];

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static DomainOptions Read(IConfiguration configuration)
    {
        var options = new DomainOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        foreach (var server in options.DnsServers)
        {
            if (!IPEndPoint.TryParse(server, out _)) throw Invalid(nameof(DnsServers), $"must list addresses such as 1.1.1.1 or 127.0.0.1:5353 (not '{server}')");
        }

        if (options.EdgeAddresses.FirstOrDefault(a => !IPAddress.TryParse(a, out _)) is { } bad) throw Invalid(nameof(EdgeAddresses), $"must list IP addresses (not '{bad}')");
        options.CnameTarget = string.IsNullOrWhiteSpace(options.CnameTarget) ? null : options.CnameTarget.Trim().TrimEnd('.').ToLowerInvariant();
        if (options.CheckPeriod < TimeSpan.FromMinutes(1)) throw Invalid(nameof(CheckPeriod), "must be at least a minute, for example 00:05:00");
        if (options.RenewBefore <= TimeSpan.Zero) throw Invalid(nameof(RenewBefore), "must be positive, for example 30.00:00:00");
        if (options.FirstRetryDelay <= TimeSpan.Zero) throw Invalid(nameof(FirstRetryDelay), "must be positive, for example 00:05:00");
        if (options.MaxRetryDelay < options.FirstRetryDelay) throw Invalid(nameof(MaxRetryDelay), "must be at least FirstRetryDelay, for example 1.00:00:00");
        if (!Uri.TryCreate(options.Acme.DirectoryUrl, UriKind.Absolute, out var directory) || directory.Scheme is not ("https" or "http"))
        {
            throw Invalid("Acme:DirectoryUrl", $"must be an ACME directory URL such as {LetsEncryptStaging} (was '{options.Acme.DirectoryUrl}')");
        }

        if (options.Acme.TrustedRootPath is { Length: > 0 } root && !File.Exists(root)) throw Invalid("Acme:TrustedRootPath", $"names no file ('{root}')");
        if (options.Acme.OrderTimeout <= TimeSpan.Zero) throw Invalid("Acme:OrderTimeout", "must be positive, for example 00:02:00");
        return options;
    }

    private static IPEndPoint ParseEndpoint(string server)
    {
        var endpoint = IPEndPoint.Parse(server);
        if (endpoint.Port == 0 && !server.EndsWith(":0", StringComparison.Ordinal)) endpoint.Port = 53;
        return endpoint;
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}

public static class DomainServices
{
    /// <summary>What domain grains need: <c>CloudDeck:Domains:*</c> (validated now), the DNS checker and the ACME HTTP client.</summary>
    public static IServiceCollection AddCloudDeckDomains(this IServiceCollection services, IConfiguration configuration)
    {
        var options = DomainOptions.Read(configuration);
        services.AddSingleton(options);
        services.AddSingleton<DnsVerifier>();
        services.AddSingleton(new AcmeHttp(AcmeHttpClients.Create(options.Acme.TrustedRootPath)));
        return services;
    }
}

/// <summary>The one HTTP client every ACME conversation of this silo uses.</summary>
public sealed record AcmeHttp(HttpClient Client);
