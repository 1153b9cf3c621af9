using System.Net;
using System.Net.Sockets;
using CloudDeck.Grains.Projects;

namespace CloudDeck.Grains.Notifications;

/// <summary>Resolves a webhook host to its addresses (the system's resolver unless a test registers another).</summary>
public delegate Task<IPAddress[]> WebhookHostResolver(string host, CancellationToken cancellationToken);

/// <summary>What a webhook host resolved to; <paramref name="Refusal"/> says why the platform will not connect there.</summary>
public sealed record WebhookTargetCheck(IReadOnlyList<IPAddress> Addresses, string? Refusal);

/// <summary>
/// Decides where a webhook may go: http or https URLs whose host resolves to public addresses only, unless the operator
/// allows private ones (<see cref="NotificationOptions.AllowPrivateWebhookTargets"/>). Checked when a rule is added and
/// again when each attempt connects (<see cref="WebhookSender"/> connects to the addresses checked here), so a name
/// that answered a public address at creation and a private one later (DNS rebinding) is still refused.
/// </summary>
public sealed class WebhookTargets(NotificationOptions options, WebhookHostResolver? resolver = null)
{
    public const int MaxUrlLength = 2000;

    private readonly WebhookHostResolver _resolve = resolver ?? ((host, token) => Dns.GetHostAddressesAsync(host, token));

    /// <summary>Why <paramref name="url"/> is not a webhook URL at all (before any lookup), or null.</summary>
    public static string? SyntaxProblem(string url, out Uri? uri)
    {
        uri = null;
        if (url.Length > MaxUrlLength) return $"must be at most {MaxUrlLength} characters";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            return "must be an absolute http or https URL, for example https://hooks.example.com/clouddeck";
        }

        if (parsed.UserInfo.Length > 0) return "must not carry a user name or password (put a token in the path or query instead)";
        if (parsed.Fragment.Length > 0) return "must not have a #fragment";
        uri = parsed;
        return null;
    }

    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> ended the lookup.</exception>
    public async Task<WebhookTargetCheck> CheckAsync(string host, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await _resolve(host, cancellationToken);
            }
            catch (SocketException)
            {
                addresses = [];
            }
        }

        if (addresses.Length == 0) return new WebhookTargetCheck([], $"the host '{host}' does not resolve to any address");
        if (options.AllowPrivateWebhookTargets) return new WebhookTargetCheck(addresses, null);
        foreach (var address in addresses)
        {
            if (Kind(address) is { } kind)
            {
                return new WebhookTargetCheck(addresses,
                    $"resolves to {address}, {kind}; CloudDeck sends webhooks to public addresses only unless the operator allows " +
                    "private ones (CloudDeck:Notifications:AllowPrivateWebhookTargets)");
            }
        }

        return new WebhookTargetCheck(addresses, null);
    }

    /// <summary>What kind of non-public address this is ("a loopback address"…), or null for a public one.</summary>
    public static string? Kind(IPAddress address)
    {
        var judged = NonPublicAddresses.Embedded(address);
        if (IPAddress.IsLoopback(judged)) return "a loopback address";
        if (judged.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = judged.GetAddressBytes();
            if (b[0] == 169 && b[1] == 254) return "a link-local address (cloud metadata services live there)";
            if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168)) return "a private address";
        }
        else if (judged.IsIPv6LinkLocal)
        {
            return "a link-local address";
        }
        else if (judged.IsIPv6UniqueLocal || judged.IsIPv6SiteLocal)
        {
            return "a private address";
        }

        if (NonPublicAddresses.IsNonPublic(address)) return "a reserved, shared or multicast address";
        return NonPublicAddresses.IsOwn(address) ? "one of this machine's own addresses" : null;
    }
}
