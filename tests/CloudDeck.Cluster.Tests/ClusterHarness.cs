using System.Text.RegularExpressions;
using Actors.Extensions;
using Actors.Extensions.Streams;
using CloudDeck.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CloudDeck.Cluster.Tests;

/// <summary>A real silo process (CloudDeck.Silo) in cluster mode.</summary>
public sealed partial class SiloProcess : IAsyncDisposable
{
    private SiloProcess(ChildProcess process, SiloAddress address)
    {
        Process = process;
        Address = address;
    }

    public ChildProcess Process { get; }

    public SiloAddress Address { get; }

    public static async Task<SiloProcess> StartAsync(string database, string clusterId, CancellationToken cancellationToken)
    {
        var dll = RepoPaths.ProjectOutput("silo", "CloudDeck.Silo");
        var process = ChildProcess.Start(RepoPaths.DotnetHost, [dll], new Dictionary<string, string?>
        {
            ["CloudDeck__StorageProvider"] = "Postgres",
            ["CloudDeck__PostgresConnectionString"] = database,
            ["CloudDeck__Cluster__Mode"] = "Cluster",
            ["CloudDeck__Cluster__ClusterId"] = clusterId,
            ["CloudDeck__Cluster__SiloPort"] = "0",
            ["CloudDeck__Auth__SigningKey"] = TestSigningKey,
            ["Logging__LogLevel__Default"] = "Information",
        }, workingDirectory: Path.GetDirectoryName(dll));
        try
        {
            var joined = await process.WaitForOutputAsync(line => line.Contains("Joining cluster", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), cancellationToken);
            var address = SiloAddress.Parse(JoinedAs().Match(joined).Groups[1].Value);
            await process.WaitForOutputAsync(line => line.Contains("Silo started", StringComparison.Ordinal), TimeSpan.FromSeconds(60), cancellationToken);
            return new SiloProcess(process, address);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>The key every process of a test cluster shares, as cluster mode requires.</summary>
    public static string TestSigningKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    [GeneratedRegex(@" as (\S+@\d+)")]
    private static partial Regex JoinedAs();

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}

/// <summary>A PostgreSQL database, a cluster id, the silo processes and this process as a cluster client.</summary>
public sealed class ClusterHarness : IAsyncDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private IHost? _client;

    private ClusterHarness(string database, string clusterId)
    {
        Database = database;
        ClusterId = clusterId;
    }

    public string Database { get; }

    public string ClusterId { get; }

    public IReadOnlyList<SiloProcess> Silos => _silos;

    public IGrainFactory Grains => _client!.Services.GetRequiredService<IGrainFactory>();

    /// <summary>The client process's services (its stream provider, for one).</summary>
    public IServiceProvider Services => _client!.Services;

    private IClusterClient? Client => _client?.Services.GetRequiredService<IClusterClient>();

    public static async Task<ClusterHarness> StartAsync(PostgresFixture postgres, int silos, CancellationToken cancellationToken)
    {
        var harness = new ClusterHarness(await postgres.Server.CreateDatabaseAsync("cluster", cancellationToken), "t" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            for (var i = 0; i < silos; i++)
            {
                await harness.AddSiloAsync(cancellationToken);
            }

            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.Configure<ActorRuntimeOptions>(o => o.ServiceId = "clouddeck");
            builder.Services.AddActorClusterClient(o =>
            {
                o.ClusterId = harness.ClusterId;
                o.MembershipConnectionString = harness.Database;
            }, GrainsAssembly.Value);
            harness._client = builder.Build();
            await harness._client.StartAsync(cancellationToken);
            await harness.WaitForActiveAsync(silos, TimeSpan.FromSeconds(30), cancellationToken);
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    public async Task<SiloProcess> AddSiloAsync(CancellationToken cancellationToken)
    {
        var silo = await SiloProcess.StartAsync(Database, ClusterId, cancellationToken);
        _silos.Add(silo);
        return silo;
    }

    public async Task<MembershipTableData> ReadTableAsync(CancellationToken cancellationToken)
    {
        await using var table = new PostgresMembershipTable(Database, ClusterId);
        return await table.ReadAllAsync(cancellationToken);
    }

    public async Task<SiloStatus?> StatusOfAsync(SiloAddress silo, CancellationToken cancellationToken) =>
        (await ReadTableAsync(cancellationToken)).Entries.FirstOrDefault(e => e.Silo == silo)?.Status;

    public async Task WaitForActiveAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await ReadTableAsync(cancellationToken)).Entries.Count(e => e.Status == SiloStatus.Active) != count
               || (Client is { } client && client.ActiveSilos.Count != count))
        {
            Assert.True(DateTime.UtcNow < deadline, $"The cluster did not reach {count} active silos in {timeout}.");
            await Task.Delay(100, cancellationToken);
        }

        // The silos re-read the table on gossip or within a refresh period: let every view settle before
        // measuring, since grains may briefly have two activations while views disagree.
        await Task.Delay(1500, cancellationToken);
    }

    /// <summary>Activations recorded per grain id by the grains themselves.</summary>
    public async Task<Dictionary<string, List<(Guid Activation, string Silo)>>> ActivationJournalAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT grain_id, activation_id, silo FROM clouddeck_activation_journal", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var journal = new Dictionary<string, List<(Guid, string)>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var grain = reader.GetString(0);
            if (!journal.TryGetValue(grain, out var list))
            {
                journal[grain] = list = [];
            }

            list.Add((reader.GetGuid(1), reader.GetString(2)));
        }

        return journal;
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }

        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }
    }
}
