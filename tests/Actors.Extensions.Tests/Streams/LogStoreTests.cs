using Actors.Extensions.Streams;
using Orleans.Hosting;
using static Actors.Extensions.Tests.Streams.LogStreamTests;

namespace Actors.Extensions.Tests.Streams;

public enum LogStoreKind
{
    Sqlite,
    Postgres,
}

/// <summary>The durable stores under the log grains: SQLite (a file of its own) and a real PostgreSQL server.</summary>
public sealed class LogStoreTests(PostgresFixture postgres) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("log-store-").FullName;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<(Action<ISiloBuilder> Use, Func<ILogStore> Open)> StoreAsync(LogStoreKind kind)
    {
        if (kind == LogStoreKind.Sqlite)
        {
            var path = Path.Combine(_directory, "streams.db");
            return (silo => silo.UseSqliteLogStore(path), () => new SqliteLogStore(path));
        }

        var connectionString = await postgres.Server.CreateDatabaseAsync("logs", Cancellation);
        return (silo => silo.UsePostgresLogStore(connectionString), () => new PostgresLogStore(connectionString));
    }

    [Theory]
    [InlineData(LogStoreKind.Sqlite)]
    [InlineData(LogStoreKind.Postgres)]
    public async Task Many_concurrent_appenders_get_gap_free_positions_and_every_acknowledged_item_is_stored(LogStoreKind kind)
    {
        var (use, open) = await StoreAsync(kind);
        await using var cluster = await LogTestCluster.StartAsync(1, configureStore: use);
        var stream = cluster.Streams.GetStream<long>("numbers", $"group-{kind}");

        // 64 appenders at once: while one flush is written, the appends arriving meanwhile queue for the next (group commit).
        var positions = await Task.WhenAll(Enumerable.Range(0, 64).Select(appender => Task.Run(async () =>
        {
            var mine = new List<(long Position, long Item)>();
            for (var i = 0; i < 80; i++)
            {
                var item = appender * 1_000L + i;
                mine.Add(((await stream.AppendAsync(item)).SequenceNumber, item));
            }

            return mine;
        }, Cancellation)));

        var acknowledged = positions.SelectMany(p => p).OrderBy(p => p.Position).ToArray();
        Assert.Equal(Enumerable.Range(1, 5_120).Select(i => (long)i), acknowledged.Select(p => p.Position));

        // Read back from storage by a store of its own, not from the grain's cache: each position holds its item.
        var store = open();
        try
        {
            var stored = await store.ReadAsync(cluster.Cluster.Options.ServiceId, stream.Id, 1, 10_000, Cancellation);
            Assert.Equal(acknowledged.Select(p => p.Position), stored.Select(record => record.Seq));
            Assert.Equal(acknowledged.Select(p => p.Item.ToString(System.Globalization.CultureInfo.InvariantCulture)), stored.Select(record => record.Payload));
        }
        finally
        {
            await ((IAsyncDisposable)store).DisposeAsync();
        }
    }

    [Theory]
    [InlineData(LogStoreKind.Sqlite)]
    [InlineData(LogStoreKind.Postgres)]
    public async Task History_survives_the_death_of_the_streams_silo_and_numbering_continues_after_it(LogStoreKind kind)
    {
        var (use, _) = await StoreAsync(kind);
        await using var cluster = await LogTestCluster.StartAsync(2, configureStore: use);
        var key = $"crash-{kind}";
        var stream = cluster.Streams.GetStream<long>("numbers", key);
        await AppendRangeAsync(stream, 1, 100, 30);
        var host = (await stream.GetInfoAsync()).Host;
        await cluster.Cluster.KillSiloAsync(cluster.SiloAt(host), Cancellation);

        // The next activation, on the survivor, starts from what storage holds.
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                return (await stream.GetInfoAsync()).Host != host;
            }
            catch (Exception)
            {
                return false; // Until the dead silo is declared dead, calls to its activation fail.
            }
        }, Patience);
        await AppendRangeAsync(stream, 101, 150, 7);
        await stream.CompleteAsync();
        var observer = new CollectingObserver<long>();
        await using var subscription = await stream.SubscribeAsync(observer, LogPosition.First);
        await observer.Completed.WaitAsync(Patience, Cancellation);
        AssertExactly(observer.Items, 1, 150);
    }

    [Fact]
    public async Task The_postgres_schema_is_created_once_when_many_silos_start_together_and_kept_on_restart()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("logschema", Cancellation);
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgresLogStore(connectionString)).ToArray();
        await Task.WhenAll(stores.Select(store => store.InitializeAsync()));
        var id = new LogStreamId("numbers", "schema");
        await stores[0].AppendAsync("svc", id, [new LogRecord(1, 0, "1")], Cancellation);
        await using (var again = new PostgresLogStore(connectionString))
        {
            await again.InitializeAsync();
            Assert.Equal(new LogBounds(1, 1, false), await again.GetBoundsAsync("svc", id, Cancellation));
            await Assert.ThrowsAsync<LogStoreConflictException>(() => again.AppendAsync("svc", id, [new LogRecord(1, 0, "x")], Cancellation));
        }

        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A killed silo may still hold the file open; the temp directory is cleaned by the OS.
        }
    }
}
