using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime;

/// <summary>Keeps a cluster client's view of the silos fresh: it reads the membership table, it does not join it.</summary>
internal sealed class ClusterClientHostedService(ClusterService cluster, ILogger<ClusterClientHostedService> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await cluster.Table.InitializeAsync(cancellationToken);
        await cluster.RefreshAsync(cancellationToken);
        cluster.Messages.GossipReceived += () => _ = cluster.RefreshAsync(_stopping.Token);
        _loop = RefreshLoopAsync();
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

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Cancel();
        if (_loop is not null)
        {
            await _loop;
        }

        await cluster.DisposeAsync();
    }
}
