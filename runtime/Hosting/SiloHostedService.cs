using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>What the silo is doing, for health checks.</summary>
public sealed class SiloStatus
{
    public bool IsRunning { get; internal set; }

    public int ActivationCount => Runtime?.Catalog.Count ?? 0;

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
    SiloStatus status,
    ILogger<SiloHostedService> logger) : IHostedService, IAsyncDisposable
{
    private Timer? _collector;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var store in stores)
        {
            await store.InitializeAsync(cancellationToken);
        }

        runtime.Reminders = reminders;
        await reminders.StartAsync(cancellationToken);
        var quantum = runtime.Options.CollectionQuantum;
        _collector = new Timer(_ => runtime.Catalog.CollectIdle(runtime.Options.CollectionAge), null, quantum, quantum);
        status.Runtime = runtime;
        status.IsRunning = true;
        logger.LogInformation("Silo started with {GrainTypes} grain types (service {ServiceId})",
            runtime.Registry.All.Count(), runtime.Options.ServiceId);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        status.IsRunning = false;
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

        runtime.MarkStopped();
        runtime.FailAllPending();
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
