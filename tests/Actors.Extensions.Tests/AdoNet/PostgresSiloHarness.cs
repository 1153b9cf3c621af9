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
    private readonly List<ChildProcess> _processes = [];

    public string ConnectionString { get; } = connectionString;

    public string ClusterId { get; } = "cluster-" + Guid.NewGuid().ToString("N")[..8];

    public string ServiceId { get; } = "service-" + Guid.NewGuid().ToString("N")[..8];

    public static async Task<PostgresSiloHarness> CreateAsync(PostgresFixture postgres, string name) =>
        new(await postgres.Server.CreateDatabaseAsync(name, TestContext.Current.CancellationToken));

    public IHost BuildSilo(Action<ISiloBuilder>? configure = null, string? connectionString = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddProvider(new TestOutputLoggerProvider(TestContext.Current.TestOutputHelper));
        builder.UseOrleans(silo =>
        {
            ConfigureSilo(silo, connectionString ?? ConnectionString, ClusterId, ServiceId);
            configure?.Invoke(silo);
        });
        var host = builder.Build();
        lock (_hosts) _hosts.Add(host);
        return host;
    }

    /// <summary>Everything a test silo gets, in this process or in a <see cref="SiloProcess"/>.</summary>
    public static void ConfigureSilo(ISiloBuilder silo, string connectionString, string clusterId, string serviceId)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = clusterId;
            o.ServiceId = serviceId;
        });
        silo.ConfigureEndpoints(IPAddress.Loopback, ChildProcess.FreeTcpPort(), ChildProcess.FreeTcpPort());
        silo.UsePostgresCluster(connectionString, o => o.GrainStorageNames.Add("archive"));
        silo.Configure<ReminderOptions>(o =>
        {
            o.MinimumReminderPeriod = TimeSpan.FromMilliseconds(500);
            o.RefreshReminderListPeriod = TimeSpan.FromSeconds(2);
        });
    }

    /// <summary>A silo of this cluster in a process of its own, so that a test can SIGKILL it.</summary>
    public async Task<(ChildProcess Process, SiloAddress Address)> StartSiloProcessAsync(bool fastFailureDetection)
    {
        var process = SiloProcess.Start(ConnectionString, ClusterId, ServiceId, fastFailureDetection);
        lock (_processes) _processes.Add(process);
        var ready = await process.WaitForOutputAsync(line => line.StartsWith(SiloProcess.ReadyMarker, StringComparison.Ordinal), TimeSpan.FromSeconds(90), TestContext.Current.CancellationToken);
        return (process, SiloAddress.FromParsableString(ready[SiloProcess.ReadyMarker.Length..].Trim()));
    }

    public async Task<IHost> StartSiloAsync(Action<ISiloBuilder>? configure = null, string? connectionString = null)
    {
        var host = BuildSilo(configure, connectionString);
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
        ChildProcess[] processes;
        lock (_processes) processes = [.. _processes];
        foreach (var process in processes) await process.DisposeAsync();
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
