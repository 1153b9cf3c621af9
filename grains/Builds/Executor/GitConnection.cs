using System.Net;
using System.Net.Sockets;
using CloudDeck.Grains.Projects;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// How git reaches a remote: the URL it is given and the <c>-c</c> settings that hold it to the addresses
/// <see cref="GitHostPolicy"/> checked. A host checked once and resolved again by git could answer differently the second
/// time (DNS rebinding), so git never resolves it: over https curl is handed the addresses (<c>http.curloptResolve</c>),
/// over ssh the URL names the address and the host key is still looked up by the name (<c>HostKeyAlias</c>). Redirects
/// are refused: one could send the fetch to an address nobody checked.
/// </summary>
public sealed record GitConnection(string Remote, IReadOnlyList<string> Config)
{
    /// <exception cref="BuildStepFailedException">The host does not resolve, or resolves to an address the platform must not connect to.</exception>
    public static async Task<GitConnection> OpenAsync(string url, GitHostPolicy hosts, CancellationToken cancellationToken)
    {
        var remote = GitRemote.Parse(url) ?? throw new BuildStepFailedException("The git URL is neither https://, ssh:// nor user@host:path.");
        var check = await hosts.CheckAsync(remote, cancellationToken);
        switch (check.Verdict)
        {
            case GitHostVerdict.Unresolved:
                throw new BuildStepFailedException($"The git host '{remote.Host}' does not resolve to any address.");
            case GitHostVerdict.NonPublic:
                // The same words whatever listens there: the log must not tell an open port from a closed one.
                throw new BuildStepFailedException("The " + GitHostPolicy.Refusal + ".");
        }

        if (remote.IsSsh)
        {
            // ssh cannot be told an address for a name: the URL names the first checked address, and known_hosts is
            // consulted for the name the project gave.
            var address = check.Addresses[0];
            return remote.Literal is not null
                ? new GitConnection(remote.Url, [])
                : new GitConnection(remote.WithAddress(address), ["-c", $"core.sshCommand=ssh -o HostKeyAlias={remote.Host}"]);
        }

        List<string> config = ["-c", "http.followRedirects=false"];
        if (remote.Literal is null)
        {
            var addresses = string.Join(',', check.Addresses.Select(Bracketed));
            config.AddRange(["-c", $"http.curloptResolve={remote.Host}:{remote.Port}:{addresses}"]);
        }

        return new GitConnection(remote.Url, config);
    }

    private static string Bracketed(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
}
