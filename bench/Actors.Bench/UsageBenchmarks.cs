using System.Diagnostics;
using System.Text.Json;
using Actors.Extensions.AdoNet;
using Actors.Extensions.Hosting;
using Actors.Extensions.Storage;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Usage;
using CloudDeck.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Actors.Bench;

/// <summary>
/// Usage events ingested durably, batched as the ingest API appends them (batches of 1,000, the default <c>MaxBatchSize</c>)
/// to the organizations' usage log streams, with the organizations' meter grains consuming the streams at the same time.
/// Two figures: events/s acknowledged as stored, and events/s metered (from the first append until every meter has applied
/// every event, state written per delivered batch). Cluster mode's stores (PostgreSQL, <c>fsync</c> on: our log store,
/// meters in Orleans' ADO.NET storage) and embedded mode's (SQLite: our log store and grain storage). The baseline is a raw
/// batch insert of the same JSON rows into a table of the same shape, one writer.
/// </summary>
internal static class UsageBenchmarks
{
    private const int Batch = 1000;
    private const int OneOrgProducers = 4;
    private const int ManyOrgs = 16;
    private const int SmallIdWindow = 2_000;

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        await RunSqliteAsync(options, report);
        if (PostgresServer.FindBinDirectory() is null)
        {
            report.Note("PostgreSQL usage benchmark skipped: no PostgreSQL binaries (apt-get install postgresql).");
            return;
        }

        await using var server = await PostgresServer.StartAsync(durable: true);
        await using var raw = await RawPostgresLogTable.OpenAsync(await server.CreateDatabaseAsync("raw"));
        double oneStored = 0, oneMetered = 0, manyStored = 0, manyMetered = 0, smallWindowMetered = 0, rawRate = 0;
        for (var round = 0; round < options.Rounds; round++)
        {
            rawRate = Math.Max(rawRate, await RawAsync(options, raw));
            // A database per run: reminders of earlier runs' meters would otherwise wake them in this one.
            var stores = Postgres(await server.CreateDatabaseAsync("usage"));
            var (stored, metered) = await IngestAsync(options, stores, organizations: 1, producersPerOrganization: OneOrgProducers);
            (oneStored, oneMetered) = (Math.Max(oneStored, stored), Math.Max(oneMetered, metered));
            stores = Postgres(await server.CreateDatabaseAsync("usage"));
            (stored, metered) = await IngestAsync(options, stores, organizations: ManyOrgs, producersPerOrganization: 1);
            (manyStored, manyMetered) = (Math.Max(manyStored, stored), Math.Max(manyMetered, metered));
            stores = Postgres(await server.CreateDatabaseAsync("usage"));
            (_, metered) = await IngestAsync(options, stores, organizations: 1, producersPerOrganization: OneOrgProducers, idWindow: SmallIdWindow);
            smallWindowMetered = Math.Max(smallWindowMetered, metered);
        }

        const string baseline = "raw INSERT ... unnest, a statement per batch";
        report.Add($"PostgreSQL usage events/s stored (1 org, {OneOrgProducers} producers, batches of {Batch})", oneStored, baseline, rawRate);
        report.Add("PostgreSQL usage events/s metered (1 org: stored, then applied by its meter)", oneMetered, baseline, rawRate);
        report.Add($"PostgreSQL usage events/s stored ({ManyOrgs} orgs, a producer each, batches of {Batch})", manyStored, baseline, rawRate);
        report.Add($"PostgreSQL usage events/s metered ({ManyOrgs} orgs: stored, then applied by their meters)", manyMetered, baseline, rawRate);
        report.Add($"PostgreSQL usage events/s metered (1 org, IdempotencyIdsPerPeriod = {SmallIdWindow:N0} instead of {new UsageOptions().IdempotencyIdsPerPeriod:N0})",
            smallWindowMetered, baseline, rawRate);
    }

    private static async Task RunSqliteAsync(BenchOptions options, Report report)
    {
        double stored = 0, metered = 0, rawRate = 0;
        for (var round = 0; round < options.Rounds; round++)
        {
            var directory = Directory.CreateTempSubdirectory("actors-bench-usage-");
            try
            {
                await using (var raw = await RawSqliteLogTable.OpenAsync(Path.Combine(directory.FullName, "raw.db")))
                {
                    rawRate = Math.Max(rawRate, await RawAsync(options, raw));
                }

                var state = Path.Combine(directory.FullName, "state.db");
                var streams = Path.Combine(directory.FullName, "streams.db");
                var (s, m) = await IngestAsync(options, silo =>
                {
                    silo.AddSqliteGrainStorageAsDefault(o => o.DatabasePath = state);
                    silo.UseSqliteReminders(o => o.DatabasePath = state);
                    silo.UseSqliteLogStore(streams);
                }, organizations: 1, producersPerOrganization: OneOrgProducers);
                (stored, metered) = (Math.Max(stored, s), Math.Max(metered, m));
            }
            finally
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                directory.Delete(recursive: true);
            }
        }

        const string baseline = "raw SQLite INSERTs, a transaction per batch";
        report.Add($"SQLite usage events/s stored (1 org, {OneOrgProducers} producers, batches of {Batch})", stored, baseline, rawRate);
        report.Add("SQLite usage events/s metered (1 org: stored, then applied by its meter)", metered, baseline, rawRate);
    }

    /// <summary>Cluster mode's stores: grain state and reminders through Orleans' ADO.NET providers on our schema, log streams in our PostgreSQL store.</summary>
    private static Action<ISiloBuilder> Postgres(string database) => silo =>
    {
        silo.UsePostgresCluster(database, options =>
        {
            options.UseClustering = false;
            options.GrainStorageSerializer = new SystemTextJsonGrainStorageSerializer();
        });
        silo.UsePostgresLogStore(database);
    };

    private static UsageEvent[] NewBatch(string producer, long n, DateTimeOffset time) =>
        [.. Enumerable.Range(0, Batch).Select(i => new UsageEvent($"{producer}-{n}-{i}", UsageKinds.EdgeBytesServed, 1 + i % 1500, time))];

    private static async Task<(double Stored, double Metered)> IngestAsync(
        BenchOptions options, Action<ISiloBuilder> stores, int organizations, int producersPerOrganization, int? idWindow = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(idWindow is { } window
            ? new Dictionary<string, string?> { ["CloudDeck:Usage:IdempotencyIdsPerPeriod"] = window.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : []).Build();
        await using var silo = await TestSilo.StartAsync(s =>
        {
            s.AddLogStreams();
            stores(s);
            s.Services.AddCloudDeckUsage(configuration);
        });
        var streams = silo.Services.GetRequiredService<ILogStreamProvider>();
        var run = Guid.NewGuid().ToString("N")[..8];
        var orgs = Enumerable.Range(0, organizations).Select(i => $"bench-{run}-{i}").ToArray();
        var targets = Enumerable.Range(0, organizations * producersPerOrganization)
            .Select(p => streams.GetStream<UsageEvent>(UsageStreams.Namespace, orgs[p % organizations])).ToArray();
        var time = DateTimeOffset.UtcNow;
        var warm = $"warm-{run}";
        await Measure.ThroughputAsync(targets.Length, options.Warmup, (p, n) => targets[p].AppendBatchAsync(NewBatch($"{warm}-{p}", n, time)));
        await CaughtUpAsync(silo, streams, orgs, time);

        var clock = Stopwatch.StartNew();
        var stored = Batch * await Measure.ThroughputAsync(targets.Length, options.Duration, (p, n) => targets[p].AppendBatchAsync(NewBatch($"{run}-{p}", n, time)));
        var events = stored * clock.Elapsed.TotalSeconds;
        await CaughtUpAsync(silo, streams, orgs, time);
        return (stored, events / clock.Elapsed.TotalSeconds);
    }

    /// <summary>Waits until every meter has applied every item of its stream.</summary>
    private static async Task CaughtUpAsync(TestSilo silo, ILogStreamProvider streams, string[] orgs, DateTimeOffset time)
    {
        var period = BillingPeriods.Of(time);
        foreach (var org in orgs)
        {
            var last = (await streams.GetStream<UsageEvent>(UsageStreams.Namespace, org).GetInfoAsync()).Last;
            var meter = silo.GrainFactory.GetGrain<IUsageMeterGrain>(org);
            while (await meter.Report(period) is var report && report.Events + report.DuplicatesIgnored < last)
            {
                await Task.Delay(5);
            }
        }
    }

    private static async Task<double> RawAsync(BenchOptions options, IRawLogTable raw)
    {
        var key = Guid.NewGuid().ToString("N");
        var time = DateTimeOffset.UtcNow;
        long next = 0;
        Task WriteBatch(long n)
        {
            // Serialized per batch, as the stream does: the baseline pays for the same JSON.
            var payloads = NewBatch(key, n, time).Select(e => JsonSerializer.Serialize(e, JsonSerializerOptions.Web)).ToArray();
            var first = next;
            next += Batch;
            return raw.AppendAsync(key, first, payloads);
        }

        await Measure.ThroughputAsync(1, options.Warmup, (_, n) => WriteBatch(n));
        return Batch * await Measure.ThroughputAsync(1, options.Duration, (_, n) => WriteBatch(n));
    }
}
