using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Api.Edge;

/// <summary>Where the edge gets a ready deployment's manifest on a cache miss.</summary>
public interface IManifestSource
{
    Task<DeploymentManifest?> GetAsync(string deploymentId);
}

/// <summary>Reads the manifest from storage (<see cref="IEdgeLookupGrain"/>): an id that names nothing activates no grain.</summary>
public sealed class GrainManifestSource(IGrainFactory grains) : IManifestSource
{
    public Task<DeploymentManifest?> GetAsync(string deploymentId) => grains.GetGrain<IEdgeLookupGrain>(0).FindManifest(deploymentId);
}

/// <summary>
/// Deployment id → its site, parsed once. A ready deployment's manifest never changes, so entries need no expiry;
/// only a deletion (announced on the alias stream) or the size bound drops one, least recently used first. An id with
/// nothing to serve (none such, not ready, deleted) is remembered apart, for <see cref="EdgeOptions.NegativeCacheTtl"/> or
/// until the deployment announces it is ready, so a flood of made-up ids neither reaches a grain each time nor pushes
/// real sites out of the cache.
/// </summary>
public sealed class ManifestCache(IManifestSource source, EdgeOptions options, ILogger<ManifestCache> logger) : IDisposable
{
    private static readonly Task<EdgeSite?> NoSite = Task.FromResult<EdgeSite?>(null);

    private readonly LruCache<string, Task<EdgeSite?>> _sites = new LruCache<string, Task<EdgeSite?>>(options.ManifestCacheSize, "manifests").Observed();
    private readonly LruCache<string, long> _missing = new LruCache<string, long>(options.NegativeCacheSize, "missing_deployments").Observed();
    private readonly Lock _gate = new();

    /// <summary>Grows with every <see cref="Forget"/>: a "none" read before one may be older than what it announced.</summary>
    private long _forgets;

    /// <summary>Size, limit, hits and misses of the sites and of the ids remembered as missing.</summary>
    public (EdgeCacheFigures Sites, EdgeCacheFigures Missing) Figures() => (_sites.Figures(), _missing.Figures());

    public Task<EdgeSite?> GetAsync(string deploymentId)
    {
        if (_sites.TryGet(deploymentId, out var cached)) return cached;
        if (_missing.TryGet(deploymentId, out var expiresAt))
        {
            if (expiresAt > Environment.TickCount64) return NoSite;
            _missing.Remove(deploymentId, expiresAt);
        }

        // One load per deployment however many requests arrive at once.
        var loading = new TaskCompletionSource<EdgeSite?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stored = _sites.GetOrAdd(deploymentId, loading.Task);
        if (stored == loading.Task) _ = LoadAsync(deploymentId, loading, Volatile.Read(ref _forgets));
        return stored;
    }

    public void Forget(string deploymentId)
    {
        lock (_gate)
        {
            _forgets++;
            _sites.Remove(deploymentId);
            _missing.Remove(deploymentId);
        }
    }

    private async Task LoadAsync(string deploymentId, TaskCompletionSource<EdgeSite?> loading, long forgets)
    {
        await Task.Yield();
        try
        {
            var manifest = await source.GetAsync(deploymentId);
            if (manifest is null)
            {
                lock (_gate)
                {
                    _sites.Remove(deploymentId, loading.Task);
                    // Not when a change for any deployment arrived meanwhile: this "none" may predate it.
                    if (options.NegativeCacheTtl > TimeSpan.Zero && _forgets == forgets)
                    {
                        _missing.Set(deploymentId, Environment.TickCount64 + (long)options.NegativeCacheTtl.TotalMilliseconds);
                    }
                }

                loading.SetResult(null);
                return;
            }

            loading.SetResult(EdgeSite.From(deploymentId, manifest, logger));
        }
        catch (Exception e)
        {
            _sites.Remove(deploymentId, loading.Task);
            loading.SetException(e);
        }
    }

    public void Dispose()
    {
        _sites.Dispose();
        _missing.Dispose();
    }
}
