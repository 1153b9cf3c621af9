using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>Keeps a cluster client's view of the silos fresh: it reads the membership table, it does not join it.</summary>
internal sealed class ClusterClientHostedService(ClusterService cluster, SiloHealth health, GrainRuntime runtime, ILogger<ClusterClientHostedService> logger)
    : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await cluster.Table.InitializeAsync(cancellationToken);
        await cluster.RefreshAsync(cancellationToken);
        cluster.Messages.GossipReceived += () => _ = RefreshOnceAsync();
        cluster.RefreshWanted += () => _ = RefreshOnceAsync();
        _loop = RefreshLoopAsync();
        health.Runtime = runtime;
        health.IsRunning = true;
        logger.LogInformation("Cluster client of {ClusterId}: {Count} active silos", cluster.Options.ClusterId, cluster.View.ActiveCount);
    }

    private async Task RefreshLoopAsync()
    {
        using var timer = new PeriodicTimer(cluster.Options.TableRefreshPeriod);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                try
                {
                    await cluster.RefreshAsync(_stopping.Token);
                }
                catch (Exception exception) when (!_stopping.IsCancellationRequested)
                {
                    logger.LogWarning(exception, "Reading the membership table failed");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private readonly SemaphoreSlim _refreshing = new(1, 1);

    /// <summary>One read at a time: a burst of rejected calls asks for many, one is enough.</summary>
    private async Task RefreshOnceAsync()
    {
        if (_stopping.IsCancellationRequested || !await _refreshing.WaitAsync(0))
        {
            return;
        }

        try
        {
            await cluster.RefreshAsync(_stopping.Token);
        }
        catch (Exception exception) when (!_stopping.IsCancellationRequested)
        {
            logger.LogWarning(exception, "Reading the membership table failed");
        }
        finally
        {
            _refreshing.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        health.IsRunning = false;
        _stopping.Cancel();
        if (_loop is not null)
        {
            await _loop;
        }

        await cluster.DisposeAsync();
    }
}
