
namespace CloudDeck.GrainInterfaces.Deployments;

/// <summary>
/// Who owns a host name under the base domain (the grain key, as <see cref="IAliasGrain"/>'s). Names like
/// <c>{project}-{org}</c> can be spelled by two tenants (org <c>corp</c> + project <c>web-acme</c> and org <c>acme-corp</c> +
/// project <c>web</c>), so a project takes its hosts here, one activation deciding, before any alias points them anywhere;
/// the loser takes a fallback name (<see cref="Hostnames.Fallback"/>).
/// </summary>
[Alias("clouddeck.IHostClaimGrain")]
public interface IHostClaimGrain : IGrainWithStringKey
{
    /// <summary>True when the host is now (or already was) <paramref name="projectKey"/>'s; false when another project holds it.</summary>
    Task<bool> Claim(string projectKey);

    /// <summary>Frees the host if <paramref name="projectKey"/> holds it (the project was deleted).</summary>
    Task Release(string projectKey);

    [ReadOnly]
    Task<string?> GetOwner();
}

/// <summary>The hosts a project serves: production, and a branch's preview when one was asked for.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ProjectHosts")]
public sealed record ProjectHosts(string Production, string? Preview);
