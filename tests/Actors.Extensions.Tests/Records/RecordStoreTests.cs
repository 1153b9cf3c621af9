using Actors.Extensions.Records;
using Actors.Extensions.Streams;
using Microsoft.Data.Sqlite;

namespace Actors.Extensions.Tests.Records;

public enum RecordStoreKind
{
    Sqlite,
    Postgres,
    Memory,
}

/// <summary>The record tables of the three log stores: SQLite (a file of its own), a real PostgreSQL server, and memory.</summary>
public sealed class RecordStoreTests(PostgresFixture postgres) : IAsyncDisposable
{
    private const string Service = "records-test";
    private readonly string _directory = Directory.CreateTempSubdirectory("record-store-").FullName;
    private readonly List<IAsyncDisposable> _opened = [];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<IRecordStore> OpenAsync(RecordStoreKind kind)
    {
        switch (kind)
        {
            case RecordStoreKind.Sqlite:
                var sqlite = new SqliteLogStore(Path.Combine(_directory, "streams.db"));
                await sqlite.InitializeAsync();
                _opened.Add(sqlite);
                return sqlite;
            case RecordStoreKind.Postgres:
                var store = new PostgresLogStore(await postgres.Server.CreateDatabaseAsync("records", Cancellation));
                await store.InitializeAsync();
                _opened.Add(store);
                return store;
            default:
                return new MemoryLogStore();
        }
    }

    private static RecordWrite Append(string partition, string key, string payload = "{}") => new("items", partition, key, payload);

    [Theory]
    [InlineData(RecordStoreKind.Sqlite)]
    [InlineData(RecordStoreKind.Postgres)]
    [InlineData(RecordStoreKind.Memory)]
    public async Task Concurrent_appends_to_one_partition_get_gap_free_positions_and_pages_read_every_record_newest_first(RecordStoreKind kind)
    {
        var store = await OpenAsync(kind);
        // 16 writers at once, 40 appends each: the store numbers them, whoever wins each race.
        var acknowledged = await Task.WhenAll(Enumerable.Range(0, 16).Select(writer => Task.Run(async () =>
        {
            var mine = new List<(long Position, string Key)>();
            for (var i = 0; i < 40; i++)
            {
                var key = $"w{writer}-{i}";
                mine.Add(((await store.WriteAsync(Service, [Append("acme", key, $"\"{key}\"")], Cancellation))[0], key));
            }

            return mine;
        }, Cancellation)));
        var all = acknowledged.SelectMany(a => a).OrderBy(a => a.Position).ToList();
        Assert.Equal(Enumerable.Range(1, 640).Select(i => (long)i), all.Select(a => a.Position));
        Assert.Equal(640, await store.LastPositionAsync(Service, "items", "acme", Cancellation));

        // Pages of 50 below a cursor walk the whole partition in order, each record once, with its own payload.
        var read = new List<StoredRecord>();
        long? before = null;
        while (true)
        {
            var page = await store.ReadNewestAsync(Service, "items", "acme", before, 50, Cancellation);
            read.AddRange(page);
            if (page.Count < 50) break;
            before = page[^1].Position;
        }

        Assert.Equal(Enumerable.Range(1, 640).Reverse().Select(i => (long)i), read.Select(r => r.Position));
        Assert.All(read, r => Assert.Equal($"\"{r.Key}\"", r.Payload));
        Assert.Equal(all.Select(a => a.Key), read.OrderBy(r => r.Position).Select(r => r.Key));
    }

    [Theory]
    [InlineData(RecordStoreKind.Sqlite)]
    [InlineData(RecordStoreKind.Postgres)]
    [InlineData(RecordStoreKind.Memory)]
    public async Task An_append_retried_with_its_key_is_stored_once_and_puts_replace_only_their_own_record(RecordStoreKind kind)
    {
        var store = await OpenAsync(kind);
        Assert.Equal([1L, 2L], await store.WriteAsync(Service, [Append("p", "a", "1"), Append("p", "b", "2")], Cancellation));
        Assert.Equal([1L], await store.WriteAsync(Service, [Append("p", "a", "retried")], Cancellation));
        Assert.Equal("1", (await store.FindAsync(Service, "items", "p", "a", Cancellation))!.Payload);

        // A put at the record's own position replaces it; one at a free position inserts (leaving a gap appends skip past).
        Assert.Equal([2L, 5L], await store.WriteAsync(Service, [new RecordWrite("items", "p", "b", "2'", 2), new RecordWrite("items", "p", "e", "5", 5)], Cancellation));
        Assert.Equal("2'", (await store.FindAsync(Service, "items", "p", "b", Cancellation))!.Payload);
        Assert.Equal([6L], await store.WriteAsync(Service, [Append("p", "f")], Cancellation));

        // A put that would give a position two keys, or a key two positions, fails, and stores nothing of its write.
        await Assert.ThrowsAsync<RecordConflictException>(() =>
            store.WriteAsync(Service, [Append("p", "g", "7"), new RecordWrite("items", "p", "x", "taken", 1)], Cancellation));
        await Assert.ThrowsAsync<RecordConflictException>(() =>
            store.WriteAsync(Service, [new RecordWrite("items", "p", "a", "moved", 3)], Cancellation));
        Assert.Null(await store.FindAsync(Service, "items", "p", "g", Cancellation));
        Assert.Equal(6, await store.LastPositionAsync(Service, "items", "p", Cancellation));
        Assert.Equal(["f", "e", "b", "a"], (await store.ReadNewestAsync(Service, "items", "p", null, 10, Cancellation)).Select(r => r.Key));
    }

    [Theory]
    [InlineData(RecordStoreKind.Sqlite)]
    [InlineData(RecordStoreKind.Postgres)]
    [InlineData(RecordStoreKind.Memory)]
    public async Task Tables_partitions_and_services_are_apart_and_a_deleted_partition_starts_again_at_one(RecordStoreKind kind)
    {
        var store = await OpenAsync(kind);
        await store.WriteAsync(Service, [Append("one", "k"), Append("one", "l"), Append("two", "k"), new RecordWrite("other", "one", "k", "{}")], Cancellation);
        await store.WriteAsync("another-service", [Append("one", "k")], Cancellation);
        Assert.Equal(2, await store.LastPositionAsync(Service, "items", "one", Cancellation));
        Assert.Equal(1, await store.LastPositionAsync(Service, "items", "two", Cancellation));
        Assert.Equal(1, await store.LastPositionAsync(Service, "other", "one", Cancellation));

        Assert.Equal(2, await store.DeletePartitionAsync(Service, "items", "one", Cancellation));
        Assert.Empty(await store.ReadNewestAsync(Service, "items", "one", null, 10, Cancellation));
        Assert.Equal(1, await store.LastPositionAsync(Service, "items", "two", Cancellation));
        Assert.Equal(1, await store.LastPositionAsync("another-service", "items", "one", Cancellation));
        Assert.Equal([1L], await store.WriteAsync(Service, [Append("one", "k")], Cancellation));
    }

    [Fact]
    public async Task A_sqlite_log_store_of_schema_version_1_gets_the_record_table_at_start_and_keeps_its_log()
    {
        var path = Path.Combine(_directory, "old-streams.db");
        await using (var connection = new SqliteConnection($"Data Source={path}"))
        {
            // What a build before record tables created: the log tables and version row 1, with one log item.
            await connection.OpenAsync(Cancellation);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE log_schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL);
                INSERT INTO log_schema_version VALUES (1, 0);
                """ + LogSchema.Version1 + """
                INSERT INTO log_items VALUES ('svc', 'numbers', 'old', 1, 0, '42');
                """;
            await command.ExecuteNonQueryAsync(Cancellation);
        }

        SqliteConnection.ClearAllPools();
        var store = new SqliteLogStore(path);
        _opened.Add(store);
        await store.InitializeAsync();
        Assert.Equal("42", (await store.ReadAsync("svc", new LogStreamId("numbers", "old"), 1, 10, Cancellation)).Single().Payload);
        Assert.Equal([1L], await store.WriteAsync(Service, [Append("p", "k")], Cancellation));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var opened in _opened) await opened.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
