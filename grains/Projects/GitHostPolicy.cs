using System.Net;
using System.Net.Sockets;

namespace CloudDeck.Grains.Projects;

/// <summary>Resolves a host name to its addresses (the system's resolver unless a test registers another).</summary>
public delegate Task<IPAddress[]> GitHostResolver(string host, CancellationToken cancellationToken);

/// <summary>What a git URL's host resolved to, and whether the platform may connect there.</summary>
/// <param name="Addresses">Every address the host resolved to (the literal address itself for an IP host); empty when it did not resolve.</param>
public sealed record GitHostCheck(GitRemote Remote, IReadOnlyList<IPAddress> Addresses, GitHostVerdict Verdict);

public enum GitHostVerdict
{
    Allowed,

    /// <summary>At least one address is loopback, private, link-local, this machine's own…, and the operator did not allow it.</summary>
    NonPublic,

    /// <summary>The name has no address (or the resolver failed).</summary>
    Unresolved,
}

/// <summary>
/// Decides whether the platform may connect to a git URL's host: after resolving it, every address must be public, or
/// allowed by the operator (<see cref="ProjectOptions.AllowPrivateGitHosts"/>, <see cref="ProjectOptions.AllowedGitHostNames"/>,
/// <see cref="ProjectOptions.AllowedGitNetworks"/>). Otherwise a project's git URL would let a member probe internal
/// addresses and ports from the platform's network and read the result in the build log. The fetch connects to the
/// addresses checked here (see the build executor), so a second lookup cannot answer differently.
/// </summary>
public sealed class GitHostPolicy(ProjectOptions options, GitHostResolver? resolver = null)
{
    /// <summary>The one thing a build log says about a refused host, whatever is listening there.</summary>
    public const string Refusal =
        "git host resolves to a non-public address; CloudDeck does not connect there unless the operator allows it " +
        "(CloudDeck:Projects:AllowedGitHosts, CloudDeck:Projects:AllowPrivateGitHosts)";

    private readonly GitHostResolver _resolve = resolver ?? SystemResolver;

    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> ended the lookup.</exception>
    public async Task<GitHostCheck> CheckAsync(GitRemote remote, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (remote.Literal is { } literal)
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await _resolve(remote.Host, cancellationToken);
            }
            catch (SocketException)
            {
                addresses = [];
            }
        }

        if (addresses.Length == 0) return new GitHostCheck(remote, [], GitHostVerdict.Unresolved);
        var allowed = options.AllowPrivateGitHosts || options.AllowedGitHostNames.Contains(remote.Host, StringComparer.OrdinalIgnoreCase)
            || addresses.All(IsPublicOrAllowed);
        return new GitHostCheck(remote, addresses, allowed ? GitHostVerdict.Allowed : GitHostVerdict.NonPublic);
    }

    private bool IsPublicOrAllowed(IPAddress address)
    {
        var judged = NonPublicAddresses.Embedded(address);
        if (options.AllowedGitNetworks.Any(network => network.Contains(judged) || network.Contains(address))) return true;
        return !NonPublicAddresses.IsNonPublic(address) && !NonPublicAddresses.IsOwn(address);
    }

    private static Task<IPAddress[]> SystemResolver(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, cancellationToken);
}
