using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace CloudDeck.Api.Http;

/// <summary>
/// <c>CloudDeck:Http:KnownProxies</c>: the reverse proxies whose X-Forwarded-For this API believes. Without them the
/// client address (login throttle, license rate limit, audit log) is the connection's, so behind a proxy every client
/// would share the proxy's address; with them, a header from anyone else is ignored, so clients cannot pick their address.
/// </summary>
internal static class KnownProxies
{
    public const string Setting = "CloudDeck:Http:KnownProxies";

    /// <summary>The configured addresses: a comma-separated value or an array (<c>KnownProxies:0</c>, <c>:1</c>…).</summary>
    public static IReadOnlyList<IPAddress> Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(Setting);
        var values = section.Value is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(child => child.Value?.Trim() ?? "").ToArray();
        return values.Select(value => IPAddress.TryParse(value, out var address) ? address
            : throw new InvalidOperationException($"{Setting} must list IP addresses (was '{value}').")).ToArray();
    }

    /// <summary>Believes X-Forwarded-For from the given proxies only (replacing ASP.NET Core's loopback default).</summary>
    public static void AddKnownProxies(this IServiceCollection services, IReadOnlyList<IPAddress> proxies) =>
        services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in proxies) options.KnownProxies.Add(proxy);
            // Walk back through chained known proxies; stop at the first address that is not one.
            options.ForwardLimit = null;
        });
}
