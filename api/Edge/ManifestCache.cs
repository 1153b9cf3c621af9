using System.Collections.Concurrent;
using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Api.Edge;

/// <summary>Where the edge gets a ready deployment's manifest on a cache miss.</summary>
public interface IManifestSource
{
    Task<DeploymentManifest?> GetAsync(string deploymentId);
}

public sealed class GrainManifestSource(IGrainFactory grains) : IManifestSource
{
    public Task<DeploymentManifest?> GetAsync(string deploymentId) => grains.GetGrain<IDeploymentGrain>(deploymentId).GetManifest();
}

/// <summary>
/// Deployment id → its site, parsed once. A ready deployment's manifest never changes, so entries need no expiry;
/// only a deletion (announced on the alias stream) or the size bound drops one. Not-ready answers are not kept.
/// </summary>
public sealed class ManifestCache(IManifestSource source, EdgeOptions options, ILogger<ManifestCache> logger)
{
    private readonly ConcurrentDictionary<string, Task<EdgeSite?>> _sites = new(StringComparer.Ordinal);

    public Task<EdgeSite?> GetAsync(string deploymentId)
    {
        if (_sites.TryGetValue(deploymentId, out var cached)) return cached;
        if (_sites.Count >= options.ManifestCacheSize) _sites.Clear();
        // One load per deployment however many requests arrive at once.
        var loading = _sites.GetOrAdd(deploymentId, id => LoadAsync(id));
        return loading;
    }

    public void Forget(string deploymentId) => _sites.TryRemove(deploymentId, out _);

    private async Task<EdgeSite?> LoadAsync(string deploymentId)
    {
        await Task.Yield();
        try
        {
            var manifest = await source.GetAsync(deploymentId);
            if (manifest is null)
            {
                _sites.TryRemove(deploymentId, out _);
                return null;
            }

            return EdgeSite.From(deploymentId, manifest, logger);
        }
        catch
        {
            _sites.TryRemove(deploymentId, out _);
            throw;
        }
    }
}
