using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Api.Edge;

/// <summary>
/// Host → deployment id, answered from memory after the first request. Correct without a time to live because it
/// follows <see cref="AliasChanges"/> live: a promote or rollback reaches every API process as one stream item.
/// While the stream is not followed (start, or after a failure) nothing is cached, so a missed change can never stick.
/// A host with no alias is remembered too, for <see cref="EdgeOptions.NegativeCacheTtl"/> (or until an alias for it is
/// announced), and a miss reads storage through <see cref="IEdgeLookupGrain"/>: a flood of unknown hosts activates no
/// grain per host. When full, the least recently used host is let go.
/// </summary>
public sealed class AliasCache(IGrainFactory grains, ILogStreamProvider streams, EdgeOptions options, ManifestCache manifests, ServerEndpoints servers, ILogger<AliasCache> logger)
    : BackgroundService, ILogObserver<AliasChange>
{
    private readonly LruCache<string, Entry> _entries = new LruCache<string, Entry>(options.AliasCacheSize, "aliases").Observed();
    private volatile bool _following;

    /// <summary>Grows each time following starts: an answer read under an earlier one may predate a change never seen.</summary>
    private int _generation;
    private readonly Lock _gate = new();

    /// <summary>
    /// Version orders a late storage answer against a change already applied (an answer of "none" is version 0). An entry
    /// for no deployment is good until <see cref="ExpiresAt"/> (<see cref="Environment.TickCount64"/>); one for a
    /// deployment, until a change replaces it.
    /// </summary>
    private sealed record Entry(string? DeploymentId, long Version, long ExpiresAt);

    public bool IsFollowing => _following;

    /// <summary>Size, limit, hits and misses of the host cache.</summary>
    public EdgeCacheFigures Figures() => _entries.Figures();

    /// <summary>The deployment <paramref name="host"/> serves, or null for none.</summary>
    public ValueTask<string?> ResolveAsync(string host)
    {
        if (_entries.TryGet(host, out var cached) && cached.ExpiresAt > Environment.TickCount64) return ValueTask.FromResult(cached.DeploymentId);
        return new ValueTask<string?>(LoadAsync(host));
    }

    private async Task<string?> LoadAsync(string host)
    {
        var generation = Volatile.Read(ref _generation);
        var following = _following;
        var view = await grains.GetGrain<IEdgeLookupGrain>(0).FindAlias(host);
        // Under the gate, so a stop that clears the cache cannot slip between this check and the write.
        lock (_gate)
        {
            if (!following || !_following || generation != _generation) return view?.DeploymentId;
            _entries.AddOrUpdate(host, Of(view?.DeploymentId, view?.Version ?? 0), Newer);
        }

        return view?.DeploymentId;
    }

    private Entry Of(string? deploymentId, long version) =>
        new(deploymentId, version, deploymentId is null ? Environment.TickCount64 + (long)options.NegativeCacheTtl.TotalMilliseconds : long.MaxValue);

    /// <summary>The later of two answers; two answers of "none" keep the higher version and the later expiry.</summary>
    private static Entry Newer(Entry existing, Entry arrived) =>
        existing.Version <= arrived.Version ? arrived
        : existing.DeploymentId is null && arrived.DeploymentId is null ? arrived with { Version = existing.Version }
        : existing;

    public Task OnNextAsync(AliasChange item, LogPosition token)
    {
        Apply(item);
        return Task.CompletedTask;
    }

    private void Apply(AliasChange change)
    {
        if (DeploymentIds.IsWellFormed(change.Host))
        {
            manifests.Forget(change.Host);
            servers.Forget(change.Host);
            return;
        }

        // A swap made the alias's new deployment healthy first, perhaps by starting it again on another port.
        if (change.DeploymentId is { } moved) servers.Forget(moved);

        _entries.AddOrUpdate(change.Host, Of(change.DeploymentId, change.Version), Newer);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stream = streams.GetStream<AliasChange>(AliasChanges.Namespace, AliasChanges.Key);
        while (!stoppingToken.IsCancellationRequested)
        {
            LogSubscription? subscription = null;
            try
            {
                // Always from the stream's end: the cache is empty whenever following (re)starts, so the history holds
                // nothing it needs, and retention may trim the stream (CloudDeck:Streams:Retention:edge-aliases).
                var from = new LogPosition((await stream.GetInfoAsync()).Last + 1);
                subscription = await stream.SubscribeAsync(this, from);
                lock (_gate)
                {
                    _generation++;
                    _following = true;
                }

                logger.LogInformation("Edge follows alias changes from {Position}", from);
                await subscription.Completion.WaitAsync(stoppingToken);
                logger.LogWarning("The alias change stream ended; following it again");
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Following alias changes failed; the edge asks the alias grains until it follows them again");
            }
            finally
            {
                lock (_gate)
                {
                    _following = false;
                    _entries.Clear();
                }

                if (subscription is not null) await subscription.DisposeAsync();
            }

            await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    public override void Dispose()
    {
        _entries.Dispose();
        base.Dispose();
    }
}
