using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace CloudDeck.Api.Edge;

/// <summary>
/// Settings under <c>CloudDeck:Edge:Https</c>. With a <see cref="Port"/>, the edge also listens for HTTPS there and picks
/// each connection's certificate by SNI: a custom domain's own (ACME), else the operator's (<see cref="CertificatePath"/>,
/// for the base domain's wildcard and the API's host), else the handshake is refused.
/// </summary>
public sealed class EdgeHttpsOptions
{
    public const string Section = "CloudDeck:Edge:Https";

    /// <summary>The HTTPS port; none (no HTTPS listener) when unset.</summary>
    public int? Port { get; set; }

    /// <summary>The address the HTTPS port listens on (any by default).</summary>
    public string ListenAddress { get; set; } = "0.0.0.0";

    /// <summary>The port clients reach HTTPS on, for redirects (a load balancer's 443 in front of <see cref="Port"/>); <see cref="Port"/> by default.</summary>
    public int? PublicPort { get; set; }

    /// <summary>The operator's certificate (PEM chain, leaf first), served when no custom domain matches the SNI name.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Its key (PEM); may be left out when the certificate file holds the key too.</summary>
    public string? KeyPath { get; set; }

    /// <summary>The max-age of <c>Strict-Transport-Security</c> on domains that turned HSTS on.</summary>
    public TimeSpan HstsMaxAge { get; set; } = TimeSpan.FromDays(365);

    public bool Enabled => Port is not null;

    /// <summary>What follows the host in an https:// URL: nothing for 443, else <c>:port</c>.</summary>
    public string PortSuffix => (PublicPort ?? Port) is { } port && port != 443 ? ":" + port.ToString(CultureInfo.InvariantCulture) : "";

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static EdgeHttpsOptions Read(IConfiguration configuration)
    {
        var options = new EdgeHttpsOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        if (options.Port is < 0 or > 65535) throw Invalid(nameof(Port), "must be a port number such as 443 (0 picks a free one)");
        if (options.PublicPort is < 1 or > 65535) throw Invalid(nameof(PublicPort), "must be a port number such as 443");
        if (!IPAddress.TryParse(options.ListenAddress, out _)) throw Invalid(nameof(ListenAddress), $"must be an IP address such as 0.0.0.0 (was '{options.ListenAddress}')");
        if (options.CertificatePath is { Length: > 0 } path && !File.Exists(path)) throw Invalid(nameof(CertificatePath), $"names no file ('{path}')");
        if (options.KeyPath is { Length: > 0 } key && !File.Exists(key)) throw Invalid(nameof(KeyPath), $"names no file ('{key}')");
        if (options.HstsMaxAge < TimeSpan.Zero) throw Invalid(nameof(HstsMaxAge), "must not be negative, for example 365.00:00:00");
        return options;
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}

public static class EdgeHttps
{
    /// <summary>
    /// With <c>CloudDeck:Edge:Https:Port</c> set: the public URLs (plain HTTP) and the HTTPS port become Kestrel endpoints
    /// in code (Kestrel serves either URLs or endpoints in code, never both), the HTTPS one choosing its certificate per
    /// handshake through <see cref="EdgeCertificates"/>.
    /// </summary>
    public static void AddEdgeHttps(this WebApplicationBuilder builder)
    {
        var options = EdgeHttpsOptions.Read(builder.Configuration);
        if (!options.Enabled) return;
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var urls = (context.Configuration[WebHostDefaults.ServerUrlsKey] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var url in urls) ListenOn(kestrel, url);
            kestrel.Listen(IPAddress.Parse(options.ListenAddress), options.Port!.Value, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                var certificates = kestrel.ApplicationServices.GetRequiredService<EdgeCertificates>();
                listen.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = handshake => ValueTask.FromResult(certificates.For(handshake.ClientHelloInfo.ServerName)),
                });
            });
        });
    }

    private static void ListenOn(KestrelServerOptions kestrel, string url)
    {
        var address = BindingAddress.Parse(url);
        if (address.Scheme != "http")
        {
            throw new InvalidOperationException($"With {EdgeHttpsOptions.Section}:Port set, the public URLs must be http:// (HTTPS is that port's job), not '{url}'.");
        }

        if (address.IsUnixPipe) kestrel.ListenUnixSocket(address.UnixPipePath);
        else if (address.Host == "localhost") kestrel.ListenLocalhost(address.Port);
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip)) kestrel.Listen(ip, address.Port);
        else kestrel.ListenAnyIP(address.Port);
    }
}

/// <summary>
/// The certificate for each TLS handshake, by SNI: the custom domain's own, else the operator's certificate. Both are
/// prepared contexts (chain included), so a handshake builds nothing.
/// </summary>
public sealed class EdgeCertificates
{
    private readonly DomainTable _domains;
    private readonly SslServerAuthenticationOptions? _operator;

    public EdgeCertificates(DomainTable domains, EdgeHttpsOptions options)
    {
        _domains = domains;
        if (options.CertificatePath is { Length: > 0 } path)
        {
            var chain = File.ReadAllText(path);
            var key = options.KeyPath is { Length: > 0 } keyPath ? File.ReadAllText(keyPath) : chain;
            _operator = DomainTable.TlsOptions(chain, key, out _);
        }
    }

    /// <summary>The options for a handshake naming <paramref name="serverName"/>; one with no certificate refuses it.</summary>
    public SslServerAuthenticationOptions For(string? serverName)
    {
        var host = serverName?.TrimEnd('.').ToLowerInvariant();
        return (host is null ? null : _domains.CertificateFor(host)) ?? _operator ?? NoCertificate;
    }

    private static readonly SslServerAuthenticationOptions NoCertificate = new();
}
