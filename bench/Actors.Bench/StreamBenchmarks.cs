using System.Text.Json;
using Actors.Runtime;
using Actors.Runtime.Testing;
using CloudDeck.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Actors.Bench;

/// <summary>
/// Durable stream appends (build-log lines of ~100 bytes, acknowledged only once stored): one stream fed by a few
/// producers in batches, and 100 streams with a producer each. The baseline writes the same rows into the same table
/// shape with the same driver, one transaction (SQLite) or one statement (PostgreSQL) per batch, with nothing in between.
/// </summary>
internal static class StreamBenchmarks
{
    private const int Batch = 500;
    private const int ProducersPerStream = 4;
    private const int ManyStreams = 100;
    private const int ManyStreamsBatch = 100;

    private sealed record BenchLogLine(DateTimeOffset Time, string Stream, string Text);

    private static readonly BenchLogLine[] Lines = Enumerable.Range(0, Batch)
        .Select(i => new BenchLogLine(DateTimeOffset.UtcNow, i % 5 == 0 ? "stderr" : "stdout", $"[{i,4}] vite v5.4.2 building for production... transforming modules {i}"))
        .ToArray();

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var directory = Directory.CreateTempSubdirectory("actors-bench-streams-");
        try
        {
            var db = Path.Combine(directory.FullName, "streams.db");
            var raw = Path.Combine(directory.FullName, "raw.db");
            var (one, rawRate) = await Measure.AlternateAsync(options, () => OneStreamAsync(options, s => s.UseSqliteStreams(db)), () => RawSqliteAsync(options, raw));
            report.Add($"SQLite stream appends, lines/s (1 stream, {ProducersPerStream} producers, batches of {Batch})", one, "raw batched INSERT, a transaction per batch", rawRate);
            var many = await BestAsync(options, () => ManyStreamsAsync(options, s => s.UseSqliteStreams(db)));
            report.Add($"SQLite stream appends, lines/s ({ManyStreams} streams, batches of {ManyStreamsBatch})", many, "raw batched INSERT, a transaction per batch", rawRate);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }

        if (PostgresServer.FindBinDirectory() is null)
        {
            report.Note("PostgreSQL stream benchmark skipped: no PostgreSQL binaries (apt-get install postgresql).");
            return;
        }

        await using var server = await PostgresServer.StartAsync(durable: true);
        var streamsDb = await server.CreateDatabaseAsync("streams");
        var rawDb = await server.CreateDatabaseAsync("raw");
        var (pgOne, pgRaw) = await Measure.AlternateAsync(options, () => OneStreamAsync(options, s => s.UsePostgresStreams(streamsDb)), () => RawPostgresAsync(options, rawDb));
        report.Add($"PostgreSQL stream appends, lines/s (1 stream, {ProducersPerStream} producers, batches of {Batch})", pgOne, "raw INSERT ... unnest, a statement per batch", pgRaw);
        var pgMany = await BestAsync(options, () => ManyStreamsAsync(options, s => s.UsePostgresStreams(streamsDb)));
        report.Add($"PostgreSQL stream appends, lines/s ({ManyStreams} streams, batches of {ManyStreamsBatch})", pgMany, "raw INSERT ... unnest, a statement per batch", pgRaw);
    }

    private static async Task<double> OneStreamAsync(BenchOptions options, Action<SiloBuilder> streams)
    {
        await using var silo = await InProcessTestCluster.StartAsync(s => streams(s.AddMemoryStorage()));
        var stream = silo.Services.GetRequiredService<IStreamProvider>().GetStream<BenchLogLine>("bench-logs", Guid.NewGuid().ToString("N"));
        await Measure.ThroughputAsync(ProducersPerStream, options.Warmup, (_, _) => stream.OnNextBatchAsync(Lines));
        return Batch * await Measure.ThroughputAsync(ProducersPerStream, options.Duration, (_, _) => stream.OnNextBatchAsync(Lines));
    }

    private static async Task<double> ManyStreamsAsync(BenchOptions options, Action<SiloBuilder> streams)
    {
        await using var silo = await InProcessTestCluster.StartAsync(s => streams(s.AddMemoryStorage()));
        var provider = silo.Services.GetRequiredService<IStreamProvider>();
        var run = Guid.NewGuid().ToString("N")[..8];
        var targets = Enumerable.Range(0, ManyStreams).Select(i => provider.GetStream<BenchLogLine>("bench-logs", $"{run}-{i}")).ToArray();
        var lines = Lines[..ManyStreamsBatch];
        await Measure.ThroughputAsync(ManyStreams, options.Warmup, (c, _) => targets[c].OnNextBatchAsync(lines));
        return ManyStreamsBatch * await Measure.ThroughputAsync(ManyStreams, options.Duration, (c, _) => targets[c].OnNextBatchAsync(lines));
    }

    private static string[] Payloads() => Lines.Select(line => JsonSerializer.Serialize(line, JsonSerializerOptions.Web)).ToArray();

    private static async Task<double> RawSqliteAsync(BenchOptions options, string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=true");
        await connection.OpenAsync();
        await using (var setup = connection.CreateCommand())
        {
            setup.CommandText = """
                PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
                CREATE TABLE IF NOT EXISTS items (s TEXT NOT NULL, ns TEXT NOT NULL, k TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, payload TEXT NULL,
                    PRIMARY KEY (s, ns, k, seq));
                CREATE INDEX IF NOT EXISTS items_by_age ON items (s, ns, at);
                """;
            await setup.ExecuteNonQueryAsync();
        }

        var payloads = Payloads();
        await using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO items (s, ns, k, seq, at, payload) VALUES ('bench', 'raw', $k, $q, $a, $p)";
        var key = insert.Parameters.Add("$k", SqliteType.Text);
        var seq = insert.Parameters.Add("$q", SqliteType.Integer);
        var at = insert.Parameters.Add("$a", SqliteType.Integer);
        var payload = insert.Parameters.Add("$p", SqliteType.Text);
        key.Value = Guid.NewGuid().ToString("N");
        long next = 0;
        Task WriteBatch()
        {
            using var transaction = connection.BeginTransaction();
            insert.Transaction = transaction;
            at.Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            foreach (var line in payloads)
            {
                seq.Value = ++next;
                payload.Value = line;
                insert.ExecuteNonQuery();
            }

            transaction.Commit();
            return Task.CompletedTask;
        }

        await Measure.ThroughputAsync(1, options.Warmup, (_, _) => WriteBatch());
        return Batch * await Measure.ThroughputAsync(1, options.Duration, (_, _) => WriteBatch());
    }

    private static async Task<double> RawPostgresAsync(BenchOptions options, string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await RawStreamTable.CreateAsync(dataSource);
        var payloads = Payloads();
        var key = Guid.NewGuid().ToString("N");
        long next = 0;
        Task WriteBatch()
        {
            var first = next;
            next += Batch;
            return RawStreamTable.InsertAsync(dataSource, key, first, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), payloads);
        }

        await Measure.ThroughputAsync(1, options.Warmup, (_, _) => WriteBatch());
        return Batch * await Measure.ThroughputAsync(1, options.Duration, (_, _) => WriteBatch());
    }

    private static async Task<double> BestAsync(BenchOptions options, Func<Task<double>> measured)
    {
        double best = 0;
        for (var round = 0; round < options.Rounds; round++)
        {
            best = Math.Max(best, await measured());
        }

        return best;
    }
}
