
namespace CloudDeck.GrainInterfaces.Deployments;

/// <summary>
/// A host name (the grain key, lower-case, without port) → the deployment it serves. Promote and rollback are one
/// write here; every change is appended to the <see cref="AliasChanges"/> stream so each edge drops its cached
/// answer at once.
/// </summary>
[Alias("clouddeck.IAliasGrain")]
public interface IAliasGrain : IGrainWithStringKey
{
    /// <summary>Points the host at <paramref name="deploymentId"/> (owned by <paramref name="projectKey"/>); answers the previous one.</summary>
    Task<string?> Set(string projectKey, string deploymentId);

    /// <summary>Removes the host; the edge answers its 404 page from then on.</summary>
    Task Remove();

    [ReadOnly]
    Task<AliasView?> Get();
}

[GenerateSerializer, Immutable, Alias("clouddeck.AliasView")]
public sealed record AliasView(string Host, string ProjectKey, string DeploymentId, DateTimeOffset UpdatedAt, long Version);

/// <summary>The stream every edge follows (namespace, key) to invalidate its alias cache.</summary>
public static class AliasChanges
{
    public const string Namespace = "edge-aliases";
    public const string Key = "all";

    /// <summary>
    /// What a deleted deployment appends (Host = its id, no dot, so never a host name), so every edge forgets the
    /// manifest it cached for <c>{id}.{base}</c>.
    /// </summary>
    public static AliasChange DeploymentDeleted(string deploymentId) => new(deploymentId, null, long.MaxValue);

    /// <summary>
    /// What a deployment appends once it is ready, so an edge that remembered <c>{id}.{base}</c> as missing (or not ready)
    /// serves it at once rather than when that negative entry expires.
    /// </summary>
    public static AliasChange DeploymentReady(string deploymentId) => new(deploymentId, deploymentId, 0);
}

[GenerateSerializer, Immutable, Alias("clouddeck.AliasChange")]
public sealed record AliasChange(string Host, string? DeploymentId, long Version);

/// <summary>
/// Host names under the base domain (default <c>localhost</c>, so <c>http://web-acme.localhost:8080</c> needs no DNS):
/// <c>{id}.{base}</c> for one deployment, <c>{project}-{org}.{base}</c> for production,
/// <c>{project}-git-{branch}-{org}.{base}</c> for a branch's preview. These are the names a project asks for; two tenants
/// can spell the same one, so a project serves the hosts it claimed (<see cref="IHostClaimGrain"/>), which are these
/// names or, when another project holds one, a <see cref="Fallback"/>.
/// </summary>
public static class Hostnames
{
    public const int MaxLabel = 63;

    public static string Deployment(string id, string baseDomain) => $"{id}.{baseDomain}";

    public static string Production(string organization, string project, string baseDomain) => $"{project}-{organization}.{baseDomain}";

    public static string Preview(string organization, string project, string branch, string baseDomain)
    {
        var prefix = $"{project}-git-";
        var suffix = $"-{organization}";
        var room = Math.Max(1, MaxLabel - prefix.Length - suffix.Length);
        var slug = BranchSlug(branch);
        if (slug.Length > room)
        {
            // Long branches keep a short hash so two of them never share a host (as Vercel does).
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(branch)))[..6];
            slug = slug[..Math.Max(1, room - 7)].TrimEnd('-') + "-" + hash;
        }

        return $"{prefix}{slug}{suffix}.{baseDomain}";
    }

    /// <summary>
    /// The name a project takes when <paramref name="host"/> is held by another project: its first label with a short hash
    /// of the project's key (and the attempt) appended, as Vercel appends a suffix, still one label of at most 63.
    /// </summary>
    public static string Fallback(string host, string projectKey, int attempt)
    {
        var dot = host.IndexOf('.');
        var (label, rest) = dot < 0 ? (host, "") : (host[..dot], host[dot..]);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes($"{projectKey}\n{label}\n{attempt}")))[..6];
        var kept = label[..Math.Min(label.Length, MaxLabel - 7)].TrimEnd('-');
        return $"{kept}-{hash}{rest}";
    }

    /// <summary>Lower-case letters and digits; every other run of characters becomes one hyphen.</summary>
    public static string BranchSlug(string branch)
    {
        var builder = new System.Text.StringBuilder(branch.Length);
        foreach (var c in branch.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c)) builder.Append(c);
            else if (builder.Length > 0 && builder[^1] != '-') builder.Append('-');
        }

        var slug = builder.ToString().Trim('-');
        return slug.Length == 0 ? "branch" : slug;
    }
}
