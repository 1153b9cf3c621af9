using Actors.Extensions.AdoNet;
using Actors.Extensions.Storage;
using CloudDeck.Testing;
using Npgsql;

namespace Actors.Bench;

/// <summary>
/// Grain state writes per second in cluster mode's storage: Orleans' ADO.NET grain storage on our PostgreSQL schema
/// (System.Text.Json state, as the product configures it; each write a version-checked statement awaited until durable,
/// <c>fsync</c> on), beside raw single-row UPSERTs through the same driver at the same concurrency. SQLite storage has its
/// own bench (bench/Actors.Extensions.Bench).
/// </summary>
internal static class PostgresStorageBenchmarks
{
    private const string Payload = """{"count":1,"note":"benchmark state of a typical small grain"}""";

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        if (PostgresServer.FindBinDirectory() is null)
        {
            report.Note("PostgreSQL storage benchmark skipped: no PostgreSQL binaries (apt-get install postgresql).");
            return;
        }

        await using var server = await PostgresServer.StartAsync(durable: true);
        var grainDb = await server.CreateDatabaseAsync("grains");
        var rawDb = await server.CreateDatabaseAsync("raw");
        var (grainRate, rawRate) = await Measure.AlternateAsync(options, () => GrainWritesAsync(options, grainDb), () => RawUpsertsAsync(options, rawDb));
        report.Add($"PostgreSQL state writes/s (Orleans ADO.NET storage on our schema, {options.Writers} writers)", grainRate,
            "raw UPSERT via NpgsqlDataSource", rawRate);
    }

    private static async Task<double> GrainWritesAsync(BenchOptions options, string database)
    {
        await using var silo = await TestSilo.StartAsync(s => s.UsePostgresCluster(database, o =>
        {
            o.UseClustering = false;
            o.UseReminders = false;
            o.GrainStorageSerializer = new SystemTextJsonGrainStorageSerializer();
        }));
        var grains = Enumerable.Range(0, options.Writers).Select(i => silo.GrainFactory.GetGrain<IStateGrain>($"s{i}")).ToArray();
        // One grain per writer: each write waits for the previous one of its grain, as real grains do.
        await Measure.ThroughputAsync(options.Writers, options.Warmup, (c, _) => grains[c].Write());
        return await Measure.ThroughputAsync(options.Writers, options.Duration, (c, _) => grains[c].Write());
    }

    private static async Task<double> RawUpsertsAsync(BenchOptions options, string connectionString)
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

        await Measure.ThroughputAsync(options.Writers, options.Warmup, (c, _) => Upsert(c));
        return await Measure.ThroughputAsync(options.Writers, options.Duration, (c, _) => Upsert(c));
    }
}
