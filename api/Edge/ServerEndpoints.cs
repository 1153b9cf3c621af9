using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Servers;

namespace CloudDeck.Api.Edge;

/// <summary>A server deployment's endpoint as the edge uses it, with its URL prefix worked out once.</summary>
public sealed record Upstream(ServerEndpoint Endpoint, string Prefix)
{
    public static Upstream Of(ServerEndpoint endpoint) => new(endpoint, UpstreamForwarder.Prefix(endpoint));
}

/// <summary>
/// Deployment id → where its server listens, kept in memory so a proxied request makes no grain call in the steady
/// state. A miss asks the server grain (<see cref="IServerGrain.GetEndpoint"/>, then <see cref="IServerGrain.EnsureRunning"/>
/// for a stopped one: the cold start); a refused connection replaces the entry (<see cref="RefreshAsync"/>), and so do
/// an alias moving to the deployment and a periodic check against the grain (a stopped server's port may be reused). The
/// grain hears that the server is used (<see cref="IServerGrain.Touch"/>) at most once per <see cref="EdgeOptions.ServerTouchInterval"/>.
/// </summary>
public sealed class ServerEndpoints(IGrainFactory grains, EdgeOptions options, ILogger<ServerEndpoints> logger) : IDisposable
{
    // Bounded like the manifests (one per server deployment served lately); the least recently used go first.
    private readonly LruCache<string, Task<Upstream>> _upstreams = new LruCache<string, Task<Upstream>>(options.ManifestCacheSize, "server_endpoints").Observed();
    private readonly LruCache<string, long> _touchedAt = new(options.ManifestCacheSize);
    private readonly long _touchIntervalMs = (long)options.ServerTouchInterval.TotalMilliseconds;

    /// <exception cref="ServerUnavailableException">The server could not be started or did not become healthy.</exception>
    public ValueTask<Upstream> GetAsync(string deploymentId)
    {
        if (_upstreams.TryGet(deploymentId, out var cached) && cached.IsCompletedSuccessfully) return ValueTask.FromResult(cached.Result);
        // One grain call per deployment however many requests arrive at once (a cold start is awaited together).
        return new ValueTask<Upstream>(Shared(deploymentId, startOnly: false));
    }

    /// <summary>
    /// <paramref name="failed"/> refused the connection: forgets it and asks the grain to make sure the server runs
    /// (it may have restarted on another port, or been stopped while idle). Concurrent callers share one call.
    /// </summary>
    /// <exception cref="ServerUnavailableException">The server could not be started or did not become healthy.</exception>
    public Task<Upstream> RefreshAsync(string deploymentId, Upstream failed)
    {
        if (_upstreams.TryGet(deploymentId, out var current) && current.IsCompletedSuccessfully && current.Result == failed)
        {
            _upstreams.Remove(deploymentId, current);
        }

        return Shared(deploymentId, startOnly: true);
    }

    /// <summary>Drops what is known of the deployment's server (deleted, or an alias just moved to it).</summary>
    public void Forget(string deploymentId) => _upstreams.Remove(deploymentId);

    /// <summary>
    /// Tells the grain its server had requests, unless this process told it a short while ago; at the same pace, checks
    /// the cached endpoint against the grain's, so one that went stale without a refused connection is not kept long.
    /// </summary>
    public void Touch(string deploymentId)
    {
        var now = Environment.TickCount64;
        if (_touchedAt.TryGet(deploymentId, out var last) && now - last < _touchIntervalMs) return;
        _touchedAt.Set(deploymentId, now);
        _ = TouchAsync(deploymentId);
    }

    private async Task TouchAsync(string deploymentId)
    {
        try
        {
            var grain = grains.GetGrain<IServerGrain>(deploymentId);
            await grain.Touch();
            var current = await grain.GetEndpoint();
            if (_upstreams.TryGet(deploymentId, out var cached) && cached.IsCompletedSuccessfully && cached.Result.Endpoint != current)
            {
                _upstreams.Remove(deploymentId, cached);
            }
        }
        catch (Exception e)
        {
            // Only the idle timer and the staleness check depend on it, and the next interval tries again.
            logger.LogDebug(e, "Touching the server of {DeploymentId} failed", deploymentId);
        }
    }

    /// <summary>The load in flight or done for the deployment, else a new one that every concurrent caller shares.</summary>
    private Task<Upstream> Shared(string deploymentId, bool startOnly)
    {
        var loading = new TaskCompletionSource<Upstream>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stored = _upstreams.GetOrAdd(deploymentId, loading.Task);
        if (stored == loading.Task) _ = LoadAsync(deploymentId, startOnly, loading);
        return stored;
    }

    private async Task LoadAsync(string deploymentId, bool startOnly, TaskCompletionSource<Upstream> loading)
    {
        await Task.Yield();
        try
        {
            var grain = grains.GetGrain<IServerGrain>(deploymentId);
            var endpoint = (startOnly ? null : await grain.GetEndpoint()) ?? await grain.EnsureRunning();
            loading.SetResult(Upstream.Of(endpoint));
        }
        catch (Exception e)
        {
            _upstreams.Remove(deploymentId, loading.Task);
            loading.SetException(e);
        }
    }

    public void Dispose() => _upstreams.Dispose();
}
