using System.Collections.Concurrent;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Api.Edge;

/// <summary>
/// Host → deployment id, answered from memory after the first request. Correct without a time to live because it
/// follows <see cref="AliasChanges"/> live: a promote or rollback reaches every API process as one stream item.
/// While the stream is not followed (start, or after a failure) nothing is cached, so a missed change can never stick.
/// </summary>
public sealed class AliasCache(IGrainFactory grains, ILogStreamProvider streams, EdgeOptions options, ManifestCache manifests, ServerEndpoints servers, ILogger<AliasCache> logger)
    : BackgroundService, ILogObserver<AliasChange>
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private volatile bool _following;

    /// <summary>Grows each time following starts: an answer read under an earlier one may predate a change never seen.</summary>
    private int _generation;
    private readonly Lock _gate = new();

    /// <summary>Version orders a late grain answer against a change already applied (a grain answer of "none" is version 0).</summary>
    private sealed record Entry(string? DeploymentId, long Version);

    public bool IsFollowing => _following;

    /// <summary>The deployment <paramref name="host"/> serves, or null for none.</summary>
    public ValueTask<string?> ResolveAsync(string host)
    {
        if (_entries.TryGetValue(host, out var cached)) return ValueTask.FromResult(cached.DeploymentId);
        return new ValueTask<string?>(LoadAsync(host));
    }

    private async Task<string?> LoadAsync(string host)
    {
        var generation = Volatile.Read(ref _generation);
        var following = _following;
        var view = await grains.GetGrain<IAliasGrain>(host).Get();
        // Under the gate, so a stop that clears the cache cannot slip between this check and the write.
        lock (_gate)
        {
            if (!following || !_following || generation != _generation) return view?.DeploymentId;
            // Random Host headers must not grow memory without end: starting over is cheap, the next requests refill it.
            if (_entries.Count >= options.AliasCacheSize) _entries.Clear();
            var loaded = new Entry(view?.DeploymentId, view?.Version ?? 0);
            _entries.AddOrUpdate(host, loaded, (_, existing) => existing.Version > loaded.Version ? existing : loaded);
        }

        return view?.DeploymentId;
    }

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

        var applied = new Entry(change.DeploymentId, change.Version);
        _entries.AddOrUpdate(change.Host, applied, (_, existing) => existing.Version > applied.Version ? existing : applied);
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
}
