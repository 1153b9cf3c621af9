using System.Net;
using Actors.Extensions.AdoNet;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.AdoNet;

/// <summary>
/// Silos and clients of one cluster on one PostgreSQL database, each its own <see cref="IHost"/> in this
/// process on its own ports (as separate silo processes would be, minus the process boundary).
/// </summary>
internal sealed class PostgresSiloHarness(string connectionString) : IAsyncDisposable
{
    private readonly List<IHost> _hosts = [];

    public string ConnectionString { get; } = connectionString;

    public string ClusterId { get; } = "cluster-" + Guid.NewGuid().ToString("N")[..8];

    public string ServiceId { get; } = "service-" + Guid.NewGuid().ToString("N")[..8];

    public static async Task<PostgresSiloHarness> CreateAsync(PostgresFixture postgres, string name) =>
        new(await postgres.Server.CreateDatabaseAsync(name, TestContext.Current.CancellationToken));

    public IHost BuildSilo(Action<ISiloBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            silo.ConfigureEndpoints(IPAddress.Loopback, ChildProcess.FreeTcpPort(), ChildProcess.FreeTcpPort());
            silo.UsePostgresCluster(ConnectionString, o => o.GrainStorageNames.Add("archive"));
            silo.Configure<ReminderOptions>(o =>
            {
                o.MinimumReminderPeriod = TimeSpan.FromMilliseconds(500);
                o.RefreshReminderListPeriod = TimeSpan.FromSeconds(2);
            });
            configure?.Invoke(silo);
        });
        var host = builder.Build();
        lock (_hosts) _hosts.Add(host);
        return host;
    }

    public async Task<IHost> StartSiloAsync(Action<ISiloBuilder>? configure = null)
    {
        var host = BuildSilo(configure);
        await host.StartAsync(TestContext.Current.CancellationToken);
        return host;
    }

    public async Task<IHost> StartClientAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            client.UsePostgresClustering(ConnectionString);
        });
        var host = builder.Build();
        lock (_hosts) _hosts.Add(host);
        await host.StartAsync(TestContext.Current.CancellationToken);
        return host;
    }

    /// <summary>Stops a silo without leaving the cluster: no ShuttingDown/Dead written, connections just drop.</summary>
    public static async Task KillAsync(IHost silo)
    {
        using var alreadyCanceled = new CancellationTokenSource();
        await alreadyCanceled.CancelAsync();
        try
        {
            await silo.StopAsync(alreadyCanceled.Token);
        }
        catch (OperationCanceledException)
        {
            // expected: the stop was not allowed to be graceful
        }
        silo.Dispose();
    }

    public static SiloAddress AddressOf(IHost silo) => silo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

    /// <summary>The membership row's status (SiloStatus as int), or null when the silo has no row.</summary>
    public async Task<int?> StatusInTableAsync(SiloAddress silo)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT status FROM orleans_membership WHERE cluster_id = @c AND port = @p AND generation = @g", connection);
        command.Parameters.AddWithValue("c", ClusterId);
        command.Parameters.AddWithValue("p", silo.Endpoint.Port);
        command.Parameters.AddWithValue("g", silo.Generation);
        return (int?)await command.ExecuteScalarAsync();
    }

    public async ValueTask DisposeAsync()
    {
        IHost[] hosts;
        lock (_hosts) hosts = [.. _hosts];
        // Newest first: clients before the silos they talk to.
        foreach (var host in hosts.Reverse())
        {
            try
            {
                using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await host.StopAsync(quick.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                // already killed by the test, or too slow to stop gracefully: disposing is enough
            }
            try
            {
                host.Dispose();
            }
            catch (ObjectDisposedException)
            {
            }
        }
        await using var connection = new NpgsqlConnection(ConnectionString);
        NpgsqlConnection.ClearPool(connection);
    }
}
