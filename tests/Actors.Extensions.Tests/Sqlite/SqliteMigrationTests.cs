using Actors.Extensions.Sqlite;
using Microsoft.Data.Sqlite;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>
/// The embedded database of the retired runtime (the same ./.clouddeck/clouddeck.db file) is imported at start:
/// its grain states and reminders are read through Orleans afterwards, its own tables are left untouched.
/// A file this build does not understand is refused with a message saying what to do, and left unchanged.
/// </summary>
public sealed class SqliteMigrationTests
{
    // The retired runtime's tables exactly as its ActorSchema created them in SQLite (versions 1 and 2).
    private const string RetiredSchema = """
        CREATE TABLE IF NOT EXISTS actors_schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS actors_grain_state (
            service_id TEXT NOT NULL, grain_type TEXT NOT NULL, grain_key TEXT NOT NULL, state_name TEXT NOT NULL,
            payload TEXT NULL, version BIGINT NOT NULL, modified_at BIGINT NOT NULL,
            PRIMARY KEY (service_id, grain_type, grain_key, state_name));
        CREATE TABLE IF NOT EXISTS actors_reminders (
            service_id TEXT NOT NULL, grain_type TEXT NOT NULL, grain_key TEXT NOT NULL, reminder_name TEXT NOT NULL,
            start_at BIGINT NOT NULL, period_ms BIGINT NOT NULL, grain_hash INTEGER NOT NULL, version BIGINT NOT NULL,
            PRIMARY KEY (service_id, grain_type, grain_key, reminder_name));
        CREATE TABLE IF NOT EXISTS actors_stream_items (
            service_id TEXT NOT NULL, stream_ns TEXT NOT NULL, stream_key TEXT NOT NULL, seq BIGINT NOT NULL,
            appended_at BIGINT NOT NULL, payload TEXT NULL, PRIMARY KEY (service_id, stream_ns, stream_key, seq));
        CREATE TABLE IF NOT EXISTS actors_stream_cursors (
            service_id TEXT NOT NULL, stream_ns TEXT NOT NULL, stream_key TEXT NOT NULL, consumer TEXT NOT NULL,
            seq BIGINT NOT NULL, PRIMARY KEY (service_id, stream_ns, stream_key, consumer));
        INSERT INTO actors_schema_version (version, applied_at) VALUES (1, 1764990000000), (2, 1764990000000);
        """;

    [Fact]
    public async Task State_and_reminders_written_by_the_retired_runtime_are_read_through_Orleans_after_import()
    {
        using var directory = new TempDirectory();
        var path = directory.File("clouddeck.db");
        var reminderKey = $"retired-{Guid.NewGuid():N}";
        var dueSoon = DateTimeOffset.UtcNow.AddSeconds(2).ToUnixTimeMilliseconds();
        Execute(path, RetiredSchema + $"""
            INSERT INTO actors_grain_state VALUES
                ('{SqliteTestCluster.ServiceId}', '{SqliteCounterGrain.GrainTypeName}', 'imported', 'counter',
                 '{"{"}"count":41,"note":"from the retired runtime"{"}"}', 7, 1764990000000),
                ('{SqliteTestCluster.ServiceId}', '{SqliteCounterGrain.GrainTypeName}', 'cleared-before', 'counter', NULL, 3, 1764990000000);
            INSERT INTO actors_reminders VALUES
                ('{SqliteTestCluster.ServiceId}', 'sqlite-reminder', '{reminderKey}', 'wake', {dueSoon}, 1000, 12345, 2);
            INSERT INTO actors_stream_items VALUES ('{SqliteTestCluster.ServiceId}', 'logs', 'b1', 1, 1764990000000, 'line');
            """);

        var silo = await SqliteTestCluster.StartAsync(path);
        try
        {
            var imported = silo.Client.GetGrain<ISqliteCounterGrain>("imported");
            var view = await imported.Get();
            Assert.Equal((41, "from the retired runtime", "7", true), (view.Count, view.Note, view.ETag, view.RecordExists));
            Assert.Equal(42, await imported.Increment());
            var cleared = await silo.Client.GetGrain<ISqliteCounterGrain>("cleared-before").Get();
            Assert.Equal((0, false, "3"), (cleared.Count, cleared.RecordExists, cleared.ETag));
            await ReminderTicks.WaitForTickAsync(reminderKey, "wake", silo.SiloIdentity, TimeSpan.FromSeconds(60));

            // The import runs once, with the schema: a second start neither repeats it nor resets what was written since.
            silo = await silo.RestartAsync();
            Assert.Equal(42, (await silo.Client.GetGrain<ISqliteCounterGrain>("imported").Get()).Count);
        }
        finally
        {
            await silo.DisposeAsync();
        }

        // Nothing of the retired runtime's was deleted, streams included (they are not this storage's to import).
        Assert.Equal(2, Count(path, "actors_grain_state"));
        Assert.Equal(1, Count(path, "actors_reminders"));
        Assert.Equal(1, Count(path, "actors_stream_items"));
        Assert.Equal(1, Count(path, "storage_schema"));
    }

    [Fact]
    public async Task A_database_of_a_newer_schema_is_refused_with_what_to_do_and_left_unchanged()
    {
        using var directory = new TempDirectory();
        var path = directory.File("newer.db");
        Execute(path, """
            CREATE TABLE storage_schema (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL);
            INSERT INTO storage_schema VALUES (1, 'first', '2026-01-01'), (99, 'from the future', '2030-01-01');
            """);

        var refusal = await StartExpectingRefusalAsync(path);

        Assert.Contains("schema version 99", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("point DatabasePath at another file", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(2, Count(path, "storage_schema"));
        Assert.Equal(0, Count(path, "sqlite_master WHERE name = 'grain_state'"));
    }

    [Fact]
    public async Task A_retired_runtime_database_of_an_unknown_layout_is_refused_and_left_unchanged()
    {
        using var directory = new TempDirectory();
        var path = directory.File("retired-unknown.db");
        Execute(path, RetiredSchema + """
            INSERT INTO actors_schema_version (version, applied_at) VALUES (3, 1764990000000);
            INSERT INTO actors_grain_state VALUES ('s', 't', 'k', 'n', '{}', 1, 1);
            """);

        var refusal = await StartExpectingRefusalAsync(path);

        Assert.Contains("retired runtime's tables at version 3", refusal.Message, StringComparison.Ordinal);
        Assert.Equal(0, Count(path, "sqlite_master WHERE name IN ('storage_schema', 'grain_state')"));
        Assert.Equal(1, Count(path, "actors_grain_state"));
    }

    private static async Task<SqliteSchemaException> StartExpectingRefusalAsync(string path)
    {
        Exception? failure = null;
        try
        {
            await using var silo = await SqliteTestCluster.StartAsync(path);
        }
        catch (Exception exception)
        {
            failure = exception;
        }

        Assert.NotNull(failure);
        for (var e = failure; e is not null; e = e.InnerException ?? (e as AggregateException)?.InnerExceptions.FirstOrDefault())
        {
            if (e is SqliteSchemaException refusal)
            {
                return refusal;
            }
        }

        Assert.Fail($"The silo did not fail to start with a SqliteSchemaException but with: {failure}");
        return null!;
    }

    private static void Execute(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Count(string path, string from)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {from}";
        return (long)command.ExecuteScalar()!;
    }
}
