using Actors.Extensions.Hosting;
using Actors.Extensions.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>
/// A one-silo in-process Orleans cluster whose grain storage and reminders are in one SQLite file.
/// "Restarting" disposes the cluster and builds a new one on the same file and service id, as a process restart would.
/// </summary>
public sealed class SqliteTestCluster : IAsyncDisposable
{
    public const string StorageName = "sqlite-tests";
    public const string ServiceId = "sqlite-tests";

    private readonly SqliteDurability _durability;

    private SqliteTestCluster(InProcessTestCluster cluster, string databasePath, SqliteDurability durability)
    {
        Cluster = cluster;
        DatabasePath = databasePath;
        _durability = durability;
    }

    public InProcessTestCluster Cluster { get; }

    public string DatabasePath { get; }

    public IClusterClient Client => Cluster.Client;

    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    public string SiloIdentity => Cluster.Silos[0].SiloAddress.ToString();

    /// <summary>The storage provider as Orleans resolves it, for tests that play a second writer or a later build.</summary>
    public IGrainStorage Storage => SiloServices.GetRequiredKeyedService<IGrainStorage>(StorageName);

    public static async Task<SqliteTestCluster> StartAsync(string databasePath, SqliteDurability durability = SqliteDurability.Full)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = ServiceId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddSqliteGrainStorage(StorageName, options =>
            {
                options.DatabasePath = databasePath;
                options.Durability = durability;
            });
            silo.UseSqliteReminders(options =>
            {
                options.DatabasePath = databasePath;
                options.Durability = durability;
            });
            // Orleans refuses periods under a minute by default; a test cannot wait that long.
            silo.Configure<ReminderOptions>(options => options.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        });
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync(TestContext.Current.CancellationToken);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return new SqliteTestCluster(cluster, databasePath, durability);
    }

    public async Task<SqliteTestCluster> RestartAsync()
    {
        await DisposeAsync();
        return await StartAsync(DatabasePath, _durability);
    }

    public static GrainId CounterId(string key) => GrainId.Create(SqliteCounterGrain.GrainTypeName, key);

    public ValueTask DisposeAsync() => Cluster.DisposeAsync();
}

/// <summary>A directory of its own for each test's database files, removed afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Path = Directory.CreateTempSubdirectory("sqlite-storage-tests-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}
