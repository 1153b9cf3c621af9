using Actors.Runtime;
using Actors.Runtime.Testing;
using CloudDeck.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Actors.Bench;

/// <summary>
/// Grain state writes per second (each a compare-and-swap on the row version, awaited until durable)
/// beside raw single-row UPSERTs through the same driver at the same concurrency.
/// </summary>
internal static class StorageBenchmarks
{
    public static async Task RunSqliteAsync(BenchOptions options, Report report)
    {
        var directory = Directory.CreateTempSubdirectory("actors-bench-");
        try
        {
            var grainDb = Path.Combine(directory.FullName, "grains.db");
            var rawDb = Path.Combine(directory.FullName, "raw.db");
            var (grainRate, rawRate) = await Measure.AlternateAsync(options,
                () => GrainWritesAsync(options, s => s.AddSqliteStorage(grainDb)),
                () => RawSqliteUpsertsAsync(options, rawDb));
            report.Add($"SQLite state writes/s ({options.StorageCallers} writers)", grainRate, "raw UPSERT, a connection per writer", rawRate);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    public static async Task RunPostgresAsync(BenchOptions options, Report report)
    {
        if (PostgresServer.FindBinDirectory() is null)
        {
            report.Note("PostgreSQL benchmark skipped: no PostgreSQL binaries (apt-get install postgresql).");
            return;
        }

        await using var server = await PostgresServer.StartAsync(durable: true);
        var grainDb = await server.CreateDatabaseAsync("grains");
        var rawDb = await server.CreateDatabaseAsync("raw");
        var (grainRate, rawRate) = await Measure.AlternateAsync(options,
            () => GrainWritesAsync(options, s => s.AddPostgresStorage(grainDb)),
            () => RawPostgresUpsertsAsync(options, rawDb));
        report.Add($"PostgreSQL state writes/s ({options.StorageCallers} writers, durable commits)", grainRate, "raw UPSERT via NpgsqlDataSource", rawRate);
    }

    private static async Task<double> GrainWritesAsync(BenchOptions options, Action<SiloBuilder> storage)
    {
        await using var silo = await InProcessTestCluster.StartAsync(s =>
        {
            s.AddGrains(typeof(StateGrain).Assembly);
            storage(s);
        });
        var grains = Enumerable.Range(0, options.StorageCallers).Select(i => silo.GrainFactory.GetGrain<IStateGrain>($"s{i}")).ToArray();
        // One grain per writer: each write waits for the previous one of its grain, as real grains do.
        await Measure.ThroughputAsync(options.StorageCallers, options.Warmup, (c, _) => grains[c].Write());
        return await Measure.ThroughputAsync(options.StorageCallers, options.Duration, (c, _) => grains[c].Write());
    }

    private const string Payload = """{"count":1,"note":"benchmark state of a typical small grain"}""";

    private static async Task<double> RawSqliteUpsertsAsync(BenchOptions options, string path)
    {
        var connectionString = $"Data Source={path};Pooling=true;Default Timeout=30";
        await using (var setup = new SqliteConnection(connectionString))
        {
            await setup.OpenAsync();
            await using var command = setup.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL, n BIGINT NOT NULL);";
            await command.ExecuteNonQueryAsync();
        }

        var connections = new SqliteConnection[options.StorageCallers];
        var commands = new SqliteCommand[options.StorageCallers];
        for (var i = 0; i < connections.Length; i++)
        {
            connections[i] = new SqliteConnection(connectionString);
            await connections[i].OpenAsync();
            await using (var pragma = connections[i].CreateCommand())
            {
                pragma.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;";
                await pragma.ExecuteNonQueryAsync();
            }

            commands[i] = connections[i].CreateCommand();
            commands[i].CommandText = "INSERT INTO kv (k, v, n) VALUES ($k, $v, 1) ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = kv.n + 1";
            commands[i].Parameters.AddWithValue("$k", $"s{i}");
            commands[i].Parameters.AddWithValue("$v", Payload);
        }

        try
        {
            Task Upsert(int caller) => Task.Run(() => commands[caller].ExecuteNonQuery());
            await Measure.ThroughputAsync(options.StorageCallers, options.Warmup, (c, _) => Upsert(c));
            return await Measure.ThroughputAsync(options.StorageCallers, options.Duration, (c, _) => Upsert(c));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private static async Task<double> RawPostgresUpsertsAsync(BenchOptions options, string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var setup = dataSource.CreateCommand("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v JSONB NOT NULL, n BIGINT NOT NULL)"))
        {
            await setup.ExecuteNonQueryAsync();
        }

        async Task Upsert(int caller)
        {
            await using var command = dataSource.CreateCommand(
                "INSERT INTO kv (k, v, n) VALUES (@k, @v::jsonb, 1) ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = kv.n + 1");
            command.Parameters.AddWithValue("k", $"s{caller}");
            command.Parameters.AddWithValue("v", Payload);
            await command.ExecuteNonQueryAsync();
        }

        await Measure.ThroughputAsync(options.StorageCallers, options.Warmup, (c, _) => Upsert(c));
        return await Measure.ThroughputAsync(options.StorageCallers, options.Duration, (c, _) => Upsert(c));
    }
}
