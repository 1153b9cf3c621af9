using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Deployments;

/// <summary>
/// How deployment and alias URLs are written (<c>CloudDeck:Edge:BaseDomain|Scheme|Port</c>): the grains answer URLs,
/// the edge in the API serves them, so both read the same section. Defaults give <c>http://web-acme.localhost:8080</c>,
/// which a browser opens with no DNS setup.
/// </summary>
public sealed class EdgeUrlOptions
{
    public const string Section = "CloudDeck:Edge";

    public string BaseDomain { get; init; } = "localhost";

    public string Scheme { get; init; } = "http";

    public int Port { get; init; } = 8080;

    /// <summary>The URL of a host under the base domain; the default port of the scheme is left out.</summary>
    public string UrlOf(string host)
    {
        var defaultPort = (Scheme == "http" && Port == 80) || (Scheme == "https" && Port == 443);
        return defaultPort ? $"{Scheme}://{host}" : $"{Scheme}://{host}:{Port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static EdgeUrlOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var options = new EdgeUrlOptions
        {
            BaseDomain = (section["BaseDomain"] ?? "localhost").Trim().TrimEnd('.').ToLowerInvariant(),
            Scheme = (section["Scheme"] ?? "http").Trim().ToLowerInvariant(),
            Port = section["Port"] is { } port
                ? int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : -1
                : 8080,
        };
        var labels = options.BaseDomain.Split('.');
        if (options.BaseDomain.Length is 0 or > 200
            || labels.Any(l => l.Length is 0 or > 63 || l[0] == '-' || l[^1] == '-' || l.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789-") >= 0))
        {
            throw new InvalidOperationException($"{Section}:BaseDomain must be a host name such as localhost or apps.example.com (was '{section["BaseDomain"]}').");
        }

        if (options.Scheme is not ("http" or "https")) throw new InvalidOperationException($"{Section}:Scheme must be http or https (was '{section["Scheme"]}').");
        if (options.Port is < 1 or > 65535) throw new InvalidOperationException($"{Section}:Port must be a port number from 1 to 65535 (was '{section["Port"]}').");
        return options;
    }
}
