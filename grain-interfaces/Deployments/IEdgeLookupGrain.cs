namespace CloudDeck.GrainInterfaces.Deployments;

/// <summary>
/// What the edge asks on a cache miss, answered from storage without activating the grain that owns the record: a flood
/// of requests for hosts and deployment ids that do not exist must not become a flood of activations. A stateless
/// worker (a few activations per silo whatever the keys asked); call it with key 0.
/// </summary>
[Alias("clouddeck.IEdgeLookupGrain")]
public interface IEdgeLookupGrain : IGrainWithIntegerKey
{
    /// <summary>The stored alias of <paramref name="host"/>, as <see cref="IAliasGrain.Get"/> answers it; null for none.</summary>
    [ReadOnly]
    Task<AliasView?> FindAlias(string host);

    /// <summary>The stored manifest of a ready deployment, as <see cref="IDeploymentGrain.GetManifest"/> answers it; null for none.</summary>
    [ReadOnly]
    Task<DeploymentManifest?> FindManifest(string deploymentId);
}
