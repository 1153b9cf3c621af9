using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace CloudDeck.Dashboard.Hosting;

/// <summary>The API's address as the dashboard's server side reaches it: configured, or this host's own listen address.</summary>
public sealed class ApiAddress(IOptions<DashboardOptions> options, IServer server, IConfiguration configuration)
{
    private Uri? _resolved;

    public Uri Value => _resolved ??= Resolve();

    private Uri Resolve()
    {
        if (options.Value.ApiAddress is { } configured) return new Uri(configured.TrimEnd('/') + "/");
        // The management port answers only health and metrics: never the API.
        var managementPort = configuration.GetValue<int?>("CloudDeck:Management:Port");
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var candidates = addresses
            .Select(Loopback)
            .Where(uri => uri is not null && uri.Port != managementPort)
            .OrderBy(uri => uri!.Scheme == "http" ? 0 : 1)
            .ToList();
        return candidates.FirstOrDefault()
               ?? throw new InvalidOperationException(
                   $"The dashboard found no address of this host to call the API at; set {DashboardOptions.Section}:ApiAddress (for example http://127.0.0.1:8080).");
    }

    /// <summary>http://+:8080, http://0.0.0.0:8080 and http://[::]:8080 listen everywhere: call them on loopback.</summary>
    private static Uri? Loopback(string address)
    {
        var text = address.Replace("://+:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://*:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://0.0.0.0:", "://127.0.0.1:", StringComparison.Ordinal)
            .Replace("://[::]:", "://[::1]:", StringComparison.Ordinal);
        return Uri.TryCreate(text.TrimEnd('/') + "/", UriKind.Absolute, out var uri) ? uri : null;
    }
}
