using Actors.Extensions.AdoNet;
using Npgsql;

namespace Actors.Extensions.Tests.AdoNet;

public sealed class PostgresSchemaTests(PostgresFixture postgres)
{
    // Every key Orleans 10.4.2's ADO.NET clustering, persistence and reminder providers read (their DbStoredQueries
    // and AdoNetGrainStorage.Init); a missing one fails the provider's start.
    private static readonly string[] RequiredKeys =
    [
        "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "InsertMembershipVersionKey",
        "UpdateIAmAlivetimeKey", "InsertMembershipKey", "UpdateMembershipKey", "DeleteMembershipTableEntriesKey",
        "CleanupDefunctSiloEntriesKey",
        "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey",
        "ReadReminderRowsKey", "ReadRangeRows1Key", "ReadRangeRows2Key", "ReadReminderRowKey",
        "UpsertReminderRowKey", "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    [Fact]
    public async Task Installing_twice_creates_once_and_leaves_every_query_key_in_OrleansQuery()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.Server.CreateDatabaseAsync("schema_twice", ct);

        var first = await PostgresOrleansSchema.EnsureCreatedAsync(db, cancellationToken: ct);
        var second = await PostgresOrleansSchema.EnsureCreatedAsync(db, cancellationToken: ct);

        Assert.Equal(0, first);
        Assert.Equal(PostgresOrleansSchema.CurrentVersion, second);
        Assert.Equal(RequiredKeys.Order(), (await QueryKeysAsync(db)).Order());
        Assert.Equal(1, await ScalarAsync<long>(db, "SELECT count(*) FROM orleans_schema_migrations"));
    }

    [Fact]
    public async Task Eight_concurrent_installers_apply_the_schema_exactly_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.Server.CreateDatabaseAsync("schema_eight", ct);

        var found = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => PostgresOrleansSchema.EnsureCreatedAsync(db, cancellationToken: ct), ct)));

        // One of them found an empty database, the other seven found it done, and nothing failed.
        Assert.Equal(1, found.Count(v => v == 0));
        Assert.Equal(7, found.Count(v => v == PostgresOrleansSchema.CurrentVersion));
        Assert.Equal(1, await ScalarAsync<long>(db, "SELECT count(*) FROM orleans_schema_migrations"));
        Assert.Equal(RequiredKeys.Length, (await QueryKeysAsync(db)).Count);
    }

    [Fact]
    public async Task A_database_set_up_with_other_Orleans_scripts_is_refused_untouched()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.Server.CreateDatabaseAsync("schema_foreign", ct);
        await ExecuteAsync(db, "CREATE TABLE orleansquery (querykey varchar(64) PRIMARY KEY, querytext varchar(8000) NOT NULL); "
            + "INSERT INTO orleansquery VALUES ('WriteToStorageKey', 'select 1')");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresOrleansSchema.EnsureCreatedAsync(db, cancellationToken: ct));

        Assert.Contains("OrleansQuery", error.Message, StringComparison.Ordinal);
        Assert.Equal("select 1", await ScalarAsync<string>(db, "SELECT querytext FROM orleansquery WHERE querykey = 'WriteToStorageKey'"));
        Assert.False(await ScalarAsync<bool>(db, "SELECT to_regclass('orleans_grain_state') IS NOT NULL"));
    }

    [Fact]
    public async Task A_schema_from_a_newer_build_is_refused_with_what_to_do()
    {
        var ct = TestContext.Current.CancellationToken;
        var db = await postgres.Server.CreateDatabaseAsync("schema_newer", ct);
        await PostgresOrleansSchema.EnsureCreatedAsync(db, cancellationToken: ct);
        await ExecuteAsync(db, $"INSERT INTO orleans_schema_migrations (version, description) VALUES ({PostgresOrleansSchema.CurrentVersion + 1}, 'from the future')");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresOrleansSchema.EnsureCreatedAsync(db, cancellationToken: ct));

        Assert.Contains("newer build", error.Message, StringComparison.Ordinal);
    }

    private static async Task<List<string>> QueryKeysAsync(string db)
    {
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT querykey FROM orleansquery", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new List<string>();
        while (await reader.ReadAsync()) keys.Add(reader.GetString(0));
        return keys;
    }

    internal static async Task ExecuteAsync(string db, string sql)
    {
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    internal static async Task<T?> ScalarAsync<T>(string db, string sql)
    {
        await using var connection = new NpgsqlConnection(db);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull or null ? default : (T)value;
    }
}
