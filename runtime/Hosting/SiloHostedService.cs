using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>What the silo is doing, for health checks.</summary>
public sealed class SiloHealth
{
    public bool IsRunning { get; internal set; }

    public int ActivationCount => Runtime?.Catalog.Count ?? 0;

    /// <summary>Active silos this process sees: 1 when it is alone.</summary>
    public int ActiveSilos => Runtime?.Cluster is { } cluster ? cluster.View.ActiveCount : (IsRunning ? 1 : 0);

    internal GrainRuntime? Runtime { get; set; }
}

/// <summary>
/// Starts the silo (tables, reminders, idle collection) and stops it gracefully: on SIGTERM every
/// activation is deactivated, writing its changed state, before the process exits.
/// </summary>
internal sealed class SiloHostedService(
    GrainRuntime runtime,
    ReminderService reminders,
    IEnumerable<IActorStore> stores,
    SiloHealth status,
    IEnumerable<ClusterMarker> clusterMarkers,
    Microsoft.Extensions.Options.IOptions<ClusterOptions> clusterOptions,
    LocalSiloDetails localSilo,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers,
    ILogger<SiloHostedService> logger) : IHostedService, IAsyncDisposable
{
    private Timer? _collector;
    private ClusterService? _cluster;
    private MembershipProtocol? _membership;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var store in stores)
        {
            await store.InitializeAsync(cancellationToken);
        }

        runtime.Reminders = reminders;
        if (clusterMarkers.Any())
        {
            await JoinClusterAsync(cancellationToken);
        }

        await reminders.StartAsync(cancellationToken);
        var quantum = runtime.Options.CollectionQuantum;
        _collector = new Timer(_ => runtime.Catalog.CollectIdle(runtime.Options.CollectionAge), null, quantum, quantum);
        status.Runtime = runtime;
        status.IsRunning = true;
        logger.LogInformation("Silo started with {GrainTypes} grain types (service {ServiceId})",
            runtime.Registry.All.Count(), runtime.Options.ServiceId);
    }

    private async Task JoinClusterAsync(CancellationToken cancellationToken)
    {
        _cluster = new ClusterService(runtime, clusterOptions.Value, isClient: false, loggers);
        _membership = new MembershipProtocol(_cluster, loggers.CreateLogger("Actors.Runtime.Membership"), why =>
        {
            // Declared dead: our activations may already live elsewhere, so drop them without writing.
            runtime.Abandon();
            runtime.FailAllPending();
            lifetime.StopApplication();
        });
        reminders.IsOwned = grainId => _cluster.View.Owner(grainId) is not { } owner || owner == _cluster.Self;
        _cluster.ViewChanged += (previous, view) =>
        {
            // Hand off what another silo owns now: deactivation writes the state, queued calls follow the grain.
            foreach (var activation in runtime.Catalog.All)
            {
                if (view.Owner(activation.GrainId) is { } owner && owner != _cluster.Self)
                {
                    activation.Schedule(() => activation.StartDeactivation(DeactivationReason.Rebalanced));
                }
            }

            _ = reminders.RefreshOwnershipAsync();
        };
        await _membership.JoinAsync(Environment.MachineName, cancellationToken);
        localSilo.Address = _cluster.Self;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        status.IsRunning = false;
        if (_membership is not null && !runtime.IsAbandoned)
        {
            // Others stop placing grains here first, so calls go to the new owners while ours hand off.
            try
            {
                if (!await _membership.AnnounceShutdownAsync())
                {
                    // Declared dead while we were away: our activations may live elsewhere now, so write nothing.
                    runtime.Abandon();
                }
            }
            catch (Exception exception)
            {
                logger.LogError(exception, "Could not announce the shutdown; handing off anyway");
            }
        }

        runtime.BeginShutdown();
        await reminders.DisposeAsync();
        if (_collector is not null)
        {
            await _collector.DisposeAsync();
        }

        var count = runtime.Catalog.Count;
        if (!runtime.IsAbandoned)
        {
            await runtime.Catalog.DeactivateAllAsync(DeactivationReason.ShuttingDown, runtime.Options.ShutdownTimeout);
            foreach (var stuck in runtime.Catalog.All.Take(20))
            {
                logger.LogWarning("Not deactivated within {Timeout}: {Activation}", runtime.Options.ShutdownTimeout, stuck.Describe());
            }
        }

        if (_membership is not null)
        {
            if (!runtime.IsAbandoned)
            {
                // Keep forwarding calls from processes whose view still names us until they have re-read the table.
                await Task.Delay(_cluster!.Options.TableRefreshPeriod * 2);
                await _membership.AnnounceDeadAsync();
            }

            await _membership.DisposeAsync();
        }

        runtime.MarkStopped();
        runtime.FailAllPending();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        logger.LogInformation("Silo stopped: deactivated {Count} activations, {Left} left", count, runtime.Catalog.Count);
        foreach (var store in stores.OfType<IAsyncDisposable>())
        {
            await store.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_collector is not null)
        {
            await _collector.DisposeAsync();
        }

        runtime.Dispose();
    }
}
