using System.Diagnostics;
using System.Text.Json;
using Actors.Runtime;
using Actors.Runtime.Testing;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains;
using CloudDeck.Grains.Usage;
using CloudDeck.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Actors.Bench;

/// <summary>
/// Usage events ingested durably on PostgreSQL (<c>fsync</c> on), batched as the ingest API appends them (batches of
/// 1,000, the default <c>MaxBatchSize</c>), with the organizations' meter grains consuming the streams at the same time.
/// Two figures: events/s acknowledged as stored, and events/s metered (from the first append until every meter has
/// applied every event, state written per delivered batch). The baseline is a raw <c>INSERT … unnest</c> of the same
/// JSON rows into the same table shape, one statement per batch, one writer.
/// </summary>
internal static class UsageBenchmarks
{
    private const int Batch = 1000;
    private const int OneOrgProducers = 4;
    private const int ManyOrgs = 16;
    private const int SmallIdWindow = 2_000;

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        if (PostgresServer.FindBinDirectory() is null)
        {
            report.Note("Usage benchmark skipped: no PostgreSQL binaries (apt-get install postgresql).");
            return;
        }

        await using var server = await PostgresServer.StartAsync(durable: true);
        var usageDb = await server.CreateDatabaseAsync("usage");
        var rawDb = await server.CreateDatabaseAsync("raw");
        double oneStored = 0, oneMetered = 0, manyStored = 0, manyMetered = 0, smallWindowMetered = 0, raw = 0;
        for (var round = 0; round < options.Rounds; round++)
        {
            raw = Math.Max(raw, await RawPostgresAsync(options, rawDb));
            var (stored, metered) = await IngestAsync(options, usageDb, organizations: 1, producersPerOrganization: OneOrgProducers);
            (oneStored, oneMetered) = (Math.Max(oneStored, stored), Math.Max(oneMetered, metered));
            (stored, metered) = await IngestAsync(options, usageDb, organizations: ManyOrgs, producersPerOrganization: 1);
            (manyStored, manyMetered) = (Math.Max(manyStored, stored), Math.Max(manyMetered, metered));
            (_, metered) = await IngestAsync(options, usageDb, organizations: 1, producersPerOrganization: OneOrgProducers, idWindow: SmallIdWindow);
            smallWindowMetered = Math.Max(smallWindowMetered, metered);
        }

        const string baseline = "raw INSERT ... unnest, a statement per batch";
        report.Add($"usage events/s stored (1 org, {OneOrgProducers} producers, batches of {Batch})", oneStored, baseline, raw);
        report.Add($"usage events/s metered (1 org: stored, then applied by its meter)", oneMetered, baseline, raw);
        report.Add($"usage events/s stored ({ManyOrgs} orgs, a producer each, batches of {Batch})", manyStored, baseline, raw);
        report.Add($"usage events/s metered ({ManyOrgs} orgs: stored, then applied by their meters)", manyMetered, baseline, raw);
        report.Add($"usage events/s metered (1 org, IdempotencyIdsPerPeriod = {SmallIdWindow:N0} instead of {new UsageOptions().IdempotencyIdsPerPeriod:N0})", smallWindowMetered, baseline, raw);
    }

    private static UsageEvent[] NewBatch(string producer, long n, DateTimeOffset time) =>
        [.. Enumerable.Range(0, Batch).Select(i => new UsageEvent($"{producer}-{n}-{i}", UsageKinds.EdgeBytesServed, 1 + i % 1500, time))];

    private static async Task<(double Stored, double Metered)> IngestAsync(
        BenchOptions options, string database, int organizations, int producersPerOrganization, int? idWindow = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(idWindow is { } window
            ? new Dictionary<string, string?> { ["CloudDeck:Usage:IdempotencyIdsPerPeriod"] = window.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : []).Build();
        await using var silo = await InProcessTestCluster.StartAsync(s =>
        {
            s.AddGrains(GrainsAssembly.Value).AddPostgresStorage(database).UsePostgresReminders(database).UsePostgresStreams(database);
            s.Services.AddCloudDeckUsage(configuration);
        });
        var streams = silo.Services.GetRequiredService<IStreamProvider>();
        var run = Guid.NewGuid().ToString("N")[..8];
        var orgs = Enumerable.Range(0, organizations).Select(i => $"bench-{run}-{i}").ToArray();
        var targets = Enumerable.Range(0, organizations * producersPerOrganization)
            .Select(p => streams.GetStream<UsageEvent>(UsageStreams.Namespace, orgs[p % organizations])).ToArray();
        var time = DateTimeOffset.UtcNow;
        var warm = $"warm-{run}";
        await Measure.ThroughputAsync(targets.Length, options.Warmup, (p, n) => targets[p].OnNextBatchAsync(NewBatch($"{warm}-{p}", n, time)));
        await CaughtUpAsync(silo, streams, orgs, time);

        var clock = Stopwatch.StartNew();
        var stored = Batch * await Measure.ThroughputAsync(targets.Length, options.Duration, (p, n) => targets[p].OnNextBatchAsync(NewBatch($"{run}-{p}", n, time)));
        var appendedFor = clock.Elapsed;
        var events = stored * appendedFor.TotalSeconds;
        await CaughtUpAsync(silo, streams, orgs, time);
        return (stored, events / clock.Elapsed.TotalSeconds);
    }

    /// <summary>Waits until every meter has applied every item of its stream.</summary>
    private static async Task CaughtUpAsync(InProcessTestCluster silo, IStreamProvider streams, string[] orgs, DateTimeOffset time)
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

    private static async Task<double> RawPostgresAsync(BenchOptions options, string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await RawStreamTable.CreateAsync(dataSource);
        var key = Guid.NewGuid().ToString("N");
        var time = DateTimeOffset.UtcNow;
        long next = 0;
        Task WriteBatch(long n)
        {
            // Serialized per batch, as the stream does: the baseline pays for the same JSON.
            var payloads = NewBatch(key, n, time).Select(e => JsonSerializer.Serialize(e, JsonSerializerOptions.Web)).ToArray();
            var first = next;
            next += Batch;
            return RawStreamTable.InsertAsync(dataSource, key, first, time.ToUnixTimeMilliseconds(), payloads);
        }

        await Measure.ThroughputAsync(1, options.Warmup, (_, n) => WriteBatch(n));
        return Batch * await Measure.ThroughputAsync(1, options.Duration, (_, n) => WriteBatch(n));
    }
}
