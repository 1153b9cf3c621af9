using CloudDeck.Grains.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace CloudDeck.ServiceDefaults;

/// <summary>Ready when this process's storage answers a query: PostgreSQL in cluster mode, the SQLite file embedded.</summary>
internal sealed class StorageReadiness(CloudDeckStorageOptions storage) : IHealthCheck
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Wait);
        try
        {
            if (storage.IsPostgres)
            {
                await using var connection = new NpgsqlConnection(storage.PostgresConnectionString);
                await connection.OpenAsync(timeout.Token);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(timeout.Token);
            }
            else
            {
                await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
                {
                    DataSource = storage.SqlitePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false,
                }.ToString());
                await connection.OpenAsync(timeout.Token);
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT count(*) FROM sqlite_master";
                await command.ExecuteScalarAsync(timeout.Token);
            }

            return HealthCheckResult.Healthy($"{storage.StorageProvider} answers.");
        }
        catch (Exception e) when (e is NpgsqlException or SqliteException or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            // The exception's type only: a driver's message may quote the connection's host or user.
            return HealthCheckResult.Unhealthy($"{storage.StorageProvider} does not answer ({e.GetType().Name}).");
        }
    }
}

/// <summary>
/// Ready when this process takes part in the cluster: a silo once Orleans counts it active (joined, not yet stopping);
/// a client (the API in cluster mode) once the cluster answers it with at least one active silo.
/// </summary>
internal sealed class ClusterReadiness(IServiceProvider services) : IHealthCheck
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<ISiloStatusOracle>() is { } silo)
        {
            return silo.CurrentStatus == SiloStatus.Active
                ? HealthCheckResult.Healthy("This silo is active in the cluster.")
                : HealthCheckResult.Unhealthy($"This silo is {silo.CurrentStatus}.");
        }

        try
        {
            var hosts = await services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0)
                .GetHosts(onlyActive: true).WaitAsync(Wait, cancellationToken);
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"The cluster answers with {hosts.Count} active silo(s).")
                : HealthCheckResult.Unhealthy("The cluster has no active silo.");
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or InvalidOperationException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"The cluster does not answer ({e.GetType().Name}).");
        }
    }
}
