using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// Where a git URL makes git connect: the host (as a resolver and curl spell it: lower case, punycode, IPv6 without
/// brackets) and port, and the URL in the canonical form <see cref="Uri"/> gives it, which is what git is handed, so that
/// git's own parser and ours agree on the host.
/// </summary>
/// <param name="Url">The canonical URL (https:// and ssh://), or the scp-like text as given.</param>
/// <param name="ScpLike">user@host:path, which git reads as ssh.</param>
public sealed partial record GitRemote(string Url, string Host, int Port, bool IsSsh, bool ScpLike)
{
    /// <summary>https://…, ssh://… or scp-like user@host:path; null for anything else (a local path).</summary>
    public static GitRemote? Parse(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "ssh" && uri.Host.Length > 0)
        {
            var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.DnsSafeHost : uri.IdnHost;
            var isSsh = uri.Scheme == "ssh";
            return new GitRemote(uri.AbsoluteUri, host.ToLowerInvariant(), uri.Port > 0 ? uri.Port : isSsh ? 22 : 443, isSsh, ScpLike: false);
        }

        var scp = ScpLikeUrl().Match(url);
        return scp.Success ? new GitRemote(url, scp.Groups["host"].Value.ToLowerInvariant(), 22, IsSsh: true, ScpLike: true) : null;
    }

    /// <summary>The host is an address already (nothing to resolve).</summary>
    public IPAddress? Literal => IPAddress.TryParse(Host, out var address) ? address : null;

    /// <summary>The URL with its host replaced by <paramref name="address"/>: for ssh, which has no way to be told an address for a name.</summary>
    public string WithAddress(IPAddress address)
    {
        var text = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        if (ScpLike)
        {
            var scp = ScpLikeUrl().Match(Url);
            return $"{scp.Groups["user"].Value}@{text}:{scp.Groups["path"].Value}";
        }

        return new UriBuilder(Url) { Host = text }.Uri.AbsoluteUri;
    }

    [GeneratedRegex(@"^(?<user>[A-Za-z0-9._-]+)@(?<host>[A-Za-z0-9.-]+):(?<path>[^/\-][^:]*)$")]
    private static partial Regex ScpLikeUrl();
}

/// <summary>Credentials written into a git URL (<c>https://user:token@host/…</c>): found, and masked for answers.</summary>
public static class GitUrlCredentials
{
    public const string Mask = "***";

    public static bool Present(string url) => UserInfo(url) is not null;

    /// <summary>The URL with everything between <c>://</c> and the host's <c>@</c> replaced by <see cref="Mask"/>.</summary>
    public static string Masked(string url) => UserInfo(url) is var (start, end) ? url[..start] + Mask + url[end..] : url;

    /// <summary>
    /// Where the user info is: from after <c>://</c> to the last <c>@</c> before the path. The last one, so that an
    /// unescaped <c>@</c> in a password is masked with the rest of it.
    /// </summary>
    private static (int Start, int End)? UserInfo(string url)
    {
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return null;
        var start = scheme + 3;
        var authorityEnd = url.IndexOfAny(['/', '?', '#'], start);
        if (authorityEnd < 0) authorityEnd = url.Length;
        var at = url.LastIndexOf('@', authorityEnd - 1, authorityEnd - start);
        return at >= start ? (start, at) : null;
    }
}
