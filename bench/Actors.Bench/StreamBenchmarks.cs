using System.Diagnostics;
using System.Text.Json;
using Actors.Extensions.Streams;
using CloudDeck.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Actors.Bench;

/// <summary>
/// Durable log streams (build-log lines of ~100 bytes, acknowledged only once stored), on SQLite and on PostgreSQL:
/// appends to one stream fed by a few producers in batches and to 100 streams with a producer each; then the stream read
/// back in pages, and followed by a subscriber from its first line. The baselines write and read the same rows in a table
/// of the same shape with the same driver, with nothing in between.
/// </summary>
internal static class StreamBenchmarks
{
    private const int Batch = 500;
    private const int ProducersPerStream = 4;
    private const int ManyStreams = 100;
    private const int ManyStreamsBatch = 100;
    private const int ReadPage = 1000;
    private const int MaxLinesRead = 200_000;
    private const string Namespace = "bench-logs";

    public sealed record BenchLogLine(DateTimeOffset Time, string Stream, string Text);

    private static readonly BenchLogLine[] Lines = Enumerable.Range(0, Batch)
        .Select(i => new BenchLogLine(DateTimeOffset.UtcNow, i % 5 == 0 ? "stderr" : "stdout", $"[{i,4}] vite v5.4.2 building for production... transforming modules {i}"))
        .ToArray();

    private static readonly string[] Payloads = Lines.Select(line => JsonSerializer.Serialize(line, JsonSerializerOptions.Web)).ToArray();

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var directory = Directory.CreateTempSubdirectory("actors-bench-streams-");
        try
        {
            var db = Path.Combine(directory.FullName, "streams.db");
            await using var raw = await RawSqliteLogTable.OpenAsync(Path.Combine(directory.FullName, "raw.db"));
            await RunStoreAsync(options, report, "SQLite", s => s.UseSqliteLogStore(db), raw, "INSERTs, a transaction per batch");
        }
        finally
        {
            directory.Delete(recursive: true);
        }

        if (PostgresServer.FindBinDirectory() is null)
        {
            report.Note("PostgreSQL stream benchmark skipped: no PostgreSQL binaries (apt-get install postgresql).");
            return;
        }

        await using var server = await PostgresServer.StartAsync(durable: true);
        var streamsDb = await server.CreateDatabaseAsync("streams");
        await using var rawPostgres = await RawPostgresLogTable.OpenAsync(await server.CreateDatabaseAsync("raw"));
        await RunStoreAsync(options, report, "PostgreSQL", s => s.UsePostgresLogStore(streamsDb), rawPostgres, "INSERT ... unnest, a statement per batch");
    }

    private static async Task RunStoreAsync(BenchOptions options, Report report, string store, Action<ISiloBuilder> useStore, IRawLogTable raw, string rawWrite)
    {
        await using var silo = await TestSilo.StartAsync(s => useStore(s.AddLogStreams()));
        var provider = silo.Services.GetRequiredService<ILogStreamProvider>();
        var run = Guid.NewGuid().ToString("N")[..8];

        var stream = provider.GetStream<BenchLogLine>(Namespace, $"{run}-one");
        Task Append(int producer, long n) => stream.AppendBatchAsync(Lines);
        var rawKey = $"{run}-raw";
        long rawNext = 0;
        Task RawAppend(int producer, long n)
        {
            var first = rawNext;
            rawNext += Batch;
            return raw.AppendAsync(rawKey, first, Payloads);
        }

        await Measure.ThroughputAsync(ProducersPerStream, options.Warmup, Append);
        await Measure.ThroughputAsync(1, options.Warmup, RawAppend);
        var (one, rawRate) = await Measure.AlternateAsync(options,
            async () => Batch * await Measure.ThroughputAsync(ProducersPerStream, options.Duration, Append),
            async () => Batch * await Measure.ThroughputAsync(1, options.Duration, RawAppend));
        var rawLabel = $"raw {rawWrite}, 1 writer";
        report.Add($"{store} stream appends, lines/s (1 stream, {ProducersPerStream} producers, batches of {Batch})", one, rawLabel, rawRate);

        var targets = Enumerable.Range(0, ManyStreams).Select(i => provider.GetStream<BenchLogLine>(Namespace, $"{run}-{i}")).ToArray();
        var lines = Lines[..ManyStreamsBatch];
        Task AppendMany(int producer, long n) => targets[producer].AppendBatchAsync(lines);
        await Measure.ThroughputAsync(ManyStreams, options.Warmup, AppendMany);
        var many = await BestAsync(options, async () => ManyStreamsBatch * await Measure.ThroughputAsync(ManyStreams, options.Duration, AppendMany));
        report.Add($"{store} stream appends, lines/s ({ManyStreams} streams, batches of {ManyStreamsBatch})", many, rawLabel, rawRate);

        // Reading back what was appended: the newest lines are in the stream's cache, the rest come from storage.
        var total = (int)Math.Min(MaxLinesRead, Math.Min((await stream.GetInfoAsync()).Last, rawNext));
        var (read, rawRead) = await Measure.AlternateAsync(options,
            () => TimedAsync(total, () => ReadAllAsync(stream, total)),
            () => TimedAsync(total, () => RawReadAllAsync(raw, rawKey, total)));
        var rawReadLabel = $"raw SELECT in pages of {ReadPage:N0}, JSON read";
        report.Add($"{store} stream reads, lines/s (pages of {ReadPage:N0}, {total:N0} lines from the first)", read, rawReadLabel, rawRead);
        var follow = await BestAsync(options, () => TimedAsync(total, () => FollowAsync(stream, total)));
        report.Add($"{store} stream follow, lines/s (a subscriber from the first line, {total:N0} lines)", follow, rawReadLabel, rawRead);
    }

    private static async Task<double> TimedAsync(int lines, Func<Task> work)
    {
        var clock = Stopwatch.StartNew();
        await work();
        return lines / clock.Elapsed.TotalSeconds;
    }

    private static async Task ReadAllAsync(ILogStream<BenchLogLine> stream, int total)
    {
        var from = LogPosition.First;
        for (var read = 0; read < total;)
        {
            var page = await stream.ReadAsync(from, Math.Min(ReadPage, total - read));
            if (page.Items.Count == 0) throw new InvalidOperationException($"The stream ended at {read} of {total} lines.");
            read += page.Items.Count;
            from = page.Next(from);
        }
    }

    private static async Task RawReadAllAsync(IRawLogTable raw, string key, int total)
    {
        for (var read = 0; read < total;)
        {
            var rows = await raw.ReadAsync<BenchLogLine>(key, read + 1, Math.Min(ReadPage, total - read));
            if (rows == 0) throw new InvalidOperationException($"The raw table ended at {read} of {total} rows.");
            read += rows;
        }
    }

    private static async Task FollowAsync(ILogStream<BenchLogLine> stream, int total)
    {
        var counter = new CountingObserver(total);
        await using var subscription = await stream.SubscribeAsync(counter, LogPosition.First);
        await counter.Done.WaitAsync(TimeSpan.FromMinutes(5));
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

    private sealed class CountingObserver(int target) : ILogObserver<BenchLogLine>
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _seen;

        public Task Done => _done.Task;

        public Task OnNextAsync(BenchLogLine item, LogPosition position) => OnNextBatchAsync([new LogItem<BenchLogLine>(item, position)]);

        public Task OnNextBatchAsync(IReadOnlyList<LogItem<BenchLogLine>> items)
        {
            _seen += items.Count;
            if (_seen >= target) _done.TrySetResult();
            return Task.CompletedTask;
        }
    }
}
