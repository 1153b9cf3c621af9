using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Actors.Extensions.Streams;

/// <summary>
/// Deletes items older than their namespace's MaxAge, one statement per namespace. Count limits are the log grains' business
/// (they know their bounds). Every silo sweeps: the deletes are idempotent.
/// </summary>
internal sealed class LogRetentionService(IServiceProvider services, IOptions<LogStreamOptions> options, IOptions<ClusterOptions> cluster,
    ILogger<LogRetentionService> logger) : BackgroundService
{
    private readonly ILogStore? _store = services.GetService<ILogStore>();
    private readonly TimeProvider _time = LogStreamsBuilderExtensions.ClockOf(services);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_store is null || !options.Value.Retention.Values.Any(retention => retention.MaxAge is not null))
        {
            return;
        }

        // The first sweep comes one interval after start: a sweep at start would race whatever the process does first.
        using var timer = new PeriodicTimer(options.Value.RetentionSweepInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                LogStreamLog.SweepFailed(logger, exception);
            }
        }
    }

    /// <summary>One pass over every namespace with a MaxAge; returns how many items were deleted.</summary>
    public async Task<long> SweepAsync(CancellationToken cancellationToken)
    {
        long deleted = 0;
        foreach (var (streamNamespace, retention) in options.Value.Retention)
        {
            if (_store is not null && retention.MaxAge is { } maxAge)
            {
                deleted += await _store.DeleteOlderThanAsync(cluster.Value.ServiceId, streamNamespace, _time.GetUtcNow() - maxAge, cancellationToken);
            }
        }

        if (deleted > 0)
        {
            LogStreamLog.Swept(logger, deleted);
        }

        return deleted;
    }
}
