using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.ServiceDefaults;

/// <summary>
/// Settings under <c>CloudDeck:Management:*</c>: where operators' machines reach a process. <c>/metrics</c> is never
/// open on the public port: there it takes <see cref="MetricsToken"/> or an operator's credential. The management port
/// (unset: none) answers only <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>, for a network only probes and
/// scrapers reach.
/// </summary>
public sealed class ManagementOptions
{
    public const string Section = "CloudDeck:Management";

    /// <summary>Minimum length of <see cref="MetricsToken"/>: a shorter secret could be guessed.</summary>
    public const int MinTokenLength = 24;

    /// <summary>The management port; unset (the default) runs none. On the silo host it is the only HTTP port.</summary>
    public int? Port { get; set; }

    /// <summary>Where the management port listens: every interface unless set (probes and scrapers come from other machines).</summary>
    public string ListenAddress { get; set; } = "0.0.0.0";

    /// <summary>
    /// A bearer token for <c>/metrics</c> (<c>Authorization: Bearer …</c>, Prometheus' <c>authorization.credentials</c>):
    /// required on the public port (besides an operator's sign-in) and, when set, on the management port too.
    /// </summary>
    public string? MetricsToken { get; set; }

    public IPAddress ListenIPAddress => IPAddress.Parse(ListenAddress);

    public static ManagementOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<ManagementOptions>() ?? new ManagementOptions();
        if (options.Port is { } port && port is < 1 or > 65535)
        {
            throw new InvalidOperationException($"{Section}:Port must be a port from 1 to 65535, or unset for none (was {port}; for example 9464).");
        }

        if (!IPAddress.TryParse(options.ListenAddress, out _))
        {
            throw new InvalidOperationException($"{Section}:ListenAddress must be an IP address (was '{options.ListenAddress}'; for example 0.0.0.0 or 127.0.0.1).");
        }

        if (options.MetricsToken is { } token && (token.Trim().Length < MinTokenLength || token.Any(char.IsWhiteSpace)))
        {
            throw new InvalidOperationException(
                $"{Section}:MetricsToken must be at least {MinTokenLength} characters without spaces (for example the output of `openssl rand -hex 32`).");
        }

        return options;
    }

    /// <summary>Whether the request carries <c>Authorization: Bearer {MetricsToken}</c>, compared in constant time.</summary>
    public bool HasMetricsToken(HttpRequest request)
    {
        if (MetricsToken is null) return false;
        var header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(header[prefix.Length..].Trim())), SHA256.HashData(Encoding.UTF8.GetBytes(MetricsToken)));
    }
}
