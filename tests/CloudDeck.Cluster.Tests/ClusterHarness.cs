using Actors.Extensions.Resilience;
using Actors.Extensions.AdoNet;
using Actors.Extensions.Security;
using Actors.Extensions.Streams;
using CloudDeck.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using CloudDeck.Diagnostics;

namespace CloudDeck.Cluster.Tests;

/// <summary>A real silo process (CloudDeck.Silo) in cluster mode.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private SiloProcess(ChildProcess process, int siloPort, int gatewayPort)
    {
        Process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
    }

    public ChildProcess Process { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    /// <summary>The silo's address as Orleans names it (endpoint and generation), known once its row is in the membership table.</summary>
    public SiloAddress Address { get; internal set; } = SiloAddress.Zero;

    /// <param name="extra">More environment for the process (settings a test needs, such as billing's).</param>
    public static SiloProcess Start(string database, string clusterId, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var dll = RepoPaths.ProjectOutput("silo", "CloudDeck.Silo");
        var (siloPort, gatewayPort) = (ChildProcess.FreeTcpPort(), ChildProcess.FreeTcpPort());
        var environment = TestCertificateAuthority.Shared.ClusterTlsEnvironment("silo");
        foreach (var (key, value) in new Dictionary<string, string?>
        {
            ["CloudDeck__StorageProvider"] = "Postgres",
            ["CloudDeck__PostgresConnectionString"] = database,
            ["CloudDeck__Cluster__Mode"] = "Cluster",
            ["CloudDeck__Cluster__ClusterId"] = clusterId,
            ["CloudDeck__Cluster__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CloudDeck__Cluster__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CloudDeck__Auth__SigningKey"] = TestSigningKey,
            ["Logging__LogLevel__Default"] = "Information",
        }.Concat(DiagnosticsHook.Environment).Concat(extra ?? new Dictionary<string, string?>()))
        {
            environment[key] = value;
        }

        var process = ChildProcess.Start(RepoPaths.DotnetHost, [dll], environment, workingDirectory: Path.GetDirectoryName(dll));
        return new SiloProcess(process, siloPort, gatewayPort);
    }

    /// <summary>The key every process of a test cluster shares, as cluster mode requires.</summary>
    public static string TestSigningKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}

/// <summary>One row of Orleans' membership table as the silos wrote it.</summary>
public sealed record MembershipRow(SiloAddress Silo, SiloStatus Status);

/// <summary>A PostgreSQL database, a cluster id, the silo processes and this process as a cluster client.</summary>
public sealed class ClusterHarness : IAsyncDisposable
{
    private readonly List<SiloProcess> _silos = [];
    private IHost? _client;

    private readonly IReadOnlyDictionary<string, string?>? _siloEnvironment;

    private ClusterHarness(string database, string clusterId, IReadOnlyDictionary<string, string?>? siloEnvironment)
    {
        Database = database;
        ClusterId = clusterId;
        _siloEnvironment = siloEnvironment;
    }

    public string Database { get; }

    public string ClusterId { get; }

    public IReadOnlyList<SiloProcess> Silos => _silos;

    public IGrainFactory Grains => _client!.Services.GetRequiredService<IGrainFactory>();

    /// <summary>The client process's services (its stream provider, for one).</summary>
    public IServiceProvider Services => _client!.Services;

    /// <param name="siloEnvironment">More environment for every silo process.</param>
    public static async Task<ClusterHarness> StartAsync(PostgresFixture postgres, int silos, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string?>? siloEnvironment = null)
    {
        var harness = new ClusterHarness(await postgres.Server.CreateDatabaseAsync("cluster", cancellationToken), "t" + Guid.NewGuid().ToString("N")[..10], siloEnvironment);
        try
        {
            for (var i = 0; i < silos; i++)
            {
                await harness.AddSiloAsync(cancellationToken);
            }

            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.UseOrleansClient(client =>
            {
                client.Configure<Orleans.Configuration.ClusterOptions>(options =>
                {
                    options.ClusterId = harness.ClusterId;
                    options.ServiceId = CloudDeck.Grains.Hosting.CloudDeckSilo.ServiceId;
                });
                client.UsePostgresClustering(harness.Database);
                client.UseMutualTls(ClientCredentials());
                client.Configure<Orleans.Configuration.GatewayOptions>(options => options.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
                client.AddLogStreams();
                client.AddRejectedCallRetry();
                client.Services.AddCloudDeckDiagnostics();
            });
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

    /// <summary>A certificate from the test clusters' authority, as every API process and client holds.</summary>
    public static MutualTlsCredentials ClientCredentials()
    {
        var (certificate, key) = TestCertificateAuthority.Shared.Issue("client");
        return MutualTlsCredentials.FromPemFiles(certificate, key, TestCertificateAuthority.Shared.AuthorityPath);
    }

    /// <summary>Starts one more silo process and waits until its row in the membership table says Active.</summary>
    public async Task<SiloProcess> AddSiloAsync(CancellationToken cancellationToken)
    {
        var silo = SiloProcess.Start(Database, ClusterId, _siloEnvironment);
        _silos.Add(silo);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var row = (await ReadTableAsync(cancellationToken)).Where(r => r.Silo.Endpoint.Port == silo.SiloPort)
                .MaxBy(r => r.Silo.Generation);
            if (row is { Status: SiloStatus.Active })
            {
                silo.Address = row.Silo;
                return silo;
            }

            Assert.False(silo.Process.HasExited, $"The silo on port {silo.SiloPort} exited before it joined:\n{silo.Process.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"The silo on port {silo.SiloPort} did not become Active in 60 s:\n{silo.Process.Output}");
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>The membership table of this cluster (Orleans' table, read with SQL so it shows what the silos wrote).</summary>
    public async Task<IReadOnlyList<MembershipRow>> ReadTableAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT address, port, generation, status FROM orleans_membership WHERE cluster_id = @cluster", connection);
        command.Parameters.AddWithValue("cluster", ClusterId);
        var rows = new List<MembershipRow>();
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var endpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(reader.GetString(0)), reader.GetInt32(1));
                rows.Add(new MembershipRow(SiloAddress.New(endpoint, reader.GetInt32(2)), (SiloStatus)reader.GetInt32(3)));
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // No silo has created the schema yet.
        }

        return rows;
    }

    public async Task<SiloStatus?> StatusOfAsync(SiloAddress silo, CancellationToken cancellationToken) =>
        (await ReadTableAsync(cancellationToken)).FirstOrDefault(e => e.Silo.Equals(silo))?.Status;

    public async Task WaitForActiveAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        var management = Grains.GetGrain<IManagementGrain>(0);
        while ((await ReadTableAsync(cancellationToken)).Count(e => e.Status == SiloStatus.Active) != count
               || (await management.GetHosts(onlyActive: true)).Count != count)
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
