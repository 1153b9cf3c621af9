using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// The git URL: credentials in it are sealed with the secrets key and masked everywhere but in a build's plan, and its
/// host must not resolve to a non-public address (checked here when the URL is set, and again by the build at fetch time).
/// </summary>
public sealed partial class ProjectGrain
{
    private const string GitUrlContext = "git_url";

    /// <summary>How long setting a git URL waits for its host to resolve; a host that does not answer in time is checked at fetch time only.</summary>
    private static readonly TimeSpan GitHostLookupLimit = TimeSpan.FromSeconds(2);

    /// <summary>Refuses, naming <c>git_url</c>, a URL whose host resolves now to an address the platform must not connect to.</summary>
    private async Task EnsureGitHostAllowedAsync(ProjectSettings settings)
    {
        if (settings.GitUrl is not { Length: > 0 } url) return;
        ProjectRules.GitUrl(url);
        if (GitRemote.Parse(url) is not { } remote) return;
        using var limit = new CancellationTokenSource(GitHostLookupLimit);
        GitHostCheck check;
        try
        {
            check = await gitHosts.CheckAsync(remote, limit.Token);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            return;
        }

        if (check.Verdict == GitHostVerdict.NonPublic)
        {
            throw new InvalidFieldException("git_url",
                "resolves to a non-public address (loopback, private, link-local, shared or this server's own); " +
                "the operator allows such hosts with CloudDeck:Projects:AllowedGitHosts or CloudDeck:Projects:AllowPrivateGitHosts");
        }
    }

    /// <summary>Keeps <paramref name="url"/> on <paramref name="target"/>: masked in clear, and whole under the secrets key when it carries credentials.</summary>
    private void SetGitUrl(ProjectState target, string? url)
    {
        target.GitUrl = url is null ? null : GitUrlCredentials.Masked(url);
        target.SealedGitUrl = url is not null && GitUrlCredentials.Present(url) ? secrets.Encrypt(url, Context(GitUrlContext)) : null;
    }

    /// <summary>The URL git is given, credentials included; only a build's plan carries it.</summary>
    private string? GitUrlInClear(ProjectState project) =>
        project.SealedGitUrl is { } sealedUrl ? secrets.Decrypt(sealedUrl, Context(GitUrlContext)) : project.GitUrl;

    /// <summary>
    /// A project stored before git URL credentials were sealed holds them in clear: sealed now. Without a key (cluster
    /// mode unconfigured) the URL stays as it was, still masked in every answer.
    /// </summary>
    /// <returns>Whether the state changed (the caller writes it).</returns>
    private bool SealLegacyGitUrl()
    {
        if (Project.SealedGitUrl is not null || Project.GitUrl is not { } url || !GitUrlCredentials.Present(url) || !secrets.IsAvailable) return false;
        if (url == GitUrlCredentials.Masked(url)) return false; // already only a mask: nothing left to seal
        SetGitUrl(Project, url);
        return true;
    }
}
