using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actors.Runtime;

/// <summary>
/// Deletes items older than their namespace's MaxAge. Count limits are the stream grains' business (they know their bounds);
/// age is swept here with one statement per namespace. Every silo sweeps: the deletes are idempotent.
/// </summary>
internal sealed class StreamRetentionService(IStreamStore? store, IOptions<StreamOptions> options, IOptions<ActorRuntimeOptions> runtimeOptions,
    TimeProvider time, ILogger<StreamRetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store is null || !options.Value.Retention.Values.Any(retention => retention.MaxAge is not null))
        {
            return;
        }

        // The first sweep comes one interval after start, not at start: ExecuteAsync runs on the thread pool, so a sweep
        // at start would race whatever the process does first.
        using var timer = new PeriodicTimer(options.Value.RetentionSweepInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(exception, "Stream retention sweep failed; the next one retries");
            }
        }
    }

    /// <summary>One pass over every namespace with a MaxAge; returns how many items were deleted.</summary>
    public async Task<long> SweepAsync(CancellationToken cancellationToken)
    {
        long deleted = 0;
        foreach (var (streamNamespace, retention) in options.Value.Retention)
        {
            if (store is not null && retention.MaxAge is { } maxAge)
            {
                deleted += await store.DeleteOlderThanAsync(runtimeOptions.Value.ServiceId, streamNamespace, time.GetUtcNow() - maxAge, cancellationToken);
            }
        }

        if (deleted > 0)
        {
            logger.LogInformation("Stream retention deleted {Count} items", deleted);
        }

        return deleted;
    }
}
