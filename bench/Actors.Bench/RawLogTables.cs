using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Actors.Bench;

/// <summary>
/// The baselines of the stream and usage benches: the same rows in a table of the log store's shape, written and read with
/// the same driver and nothing in between (no grain, no cache, no numbering).
/// </summary>
internal interface IRawLogTable : IAsyncDisposable
{
    /// <summary>Rows first+1 .. first+payloads.Length of stream <paramref name="key"/>, in one write.</summary>
    Task AppendAsync(string key, long first, string[] payloads);

    /// <summary>Up to <paramref name="max"/> rows from <paramref name="from"/>, each payload deserialized; returns how many.</summary>
    Task<int> ReadAsync<T>(string key, long from, int max);
}

internal static class RawLogTable
{
    public const string Shape = """
        CREATE TABLE IF NOT EXISTS items (s TEXT NOT NULL, ns TEXT NOT NULL, k TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, payload TEXT NULL,
            PRIMARY KEY (s, ns, k, seq));
        CREATE INDEX IF NOT EXISTS items_by_age ON items (s, ns, at);
        """;

    public const string Select = "SELECT payload FROM items WHERE s = 'bench' AND ns = 'raw' AND k = @k AND seq >= @f ORDER BY seq LIMIT @m";
}

/// <summary>A transaction of single-row INSERTs per batch on one connection in WAL mode, as SQLite is fastest written.</summary>
internal sealed class RawSqliteLogTable : IRawLogTable
{
    private readonly SqliteConnection _connection;

    private RawSqliteLogTable(SqliteConnection connection) => _connection = connection;

    public static async Task<RawSqliteLogTable> OpenAsync(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=true");
        await connection.OpenAsync();
        await using var setup = connection.CreateCommand();
        setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; " + RawLogTable.Shape;
        await setup.ExecuteNonQueryAsync();
        return new RawSqliteLogTable(connection);
    }

    public Task AppendAsync(string key, long first, string[] payloads)
    {
        using var transaction = _connection.BeginTransaction();
        using var insert = _connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT INTO items (s, ns, k, seq, at, payload) VALUES ('bench', 'raw', $k, $q, $a, $p)";
        insert.Parameters.AddWithValue("$k", key);
        insert.Parameters.AddWithValue("$a", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var seq = insert.Parameters.Add("$q", SqliteType.Integer);
        var payload = insert.Parameters.Add("$p", SqliteType.Text);
        for (var i = 0; i < payloads.Length; i++)
        {
            seq.Value = first + i + 1;
            payload.Value = payloads[i];
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
        return Task.CompletedTask;
    }

    public async Task<int> ReadAsync<T>(string key, long from, int max)
    {
        await using var select = _connection.CreateCommand();
        select.CommandText = RawLogTable.Select;
        select.Parameters.AddWithValue("@k", key);
        select.Parameters.AddWithValue("@f", from);
        select.Parameters.AddWithValue("@m", max);
        await using var reader = await select.ExecuteReaderAsync();
        var count = 0;
        while (await reader.ReadAsync())
        {
            _ = JsonSerializer.Deserialize<T>(reader.GetString(0), JsonSerializerOptions.Web);
            count++;
        }

        return count;
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.DisposeAsync();
        SqliteConnection.ClearAllPools();
    }
}

/// <summary>One <c>INSERT … unnest</c> statement per batch, as the PostgreSQL log store writes a flush.</summary>
internal sealed class RawPostgresLogTable : IRawLogTable
{
    private readonly NpgsqlDataSource _dataSource;

    private RawPostgresLogTable(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    public static async Task<RawPostgresLogTable> OpenAsync(string connectionString)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var setup = dataSource.CreateCommand(RawLogTable.Shape);
        await setup.ExecuteNonQueryAsync();
        return new RawPostgresLogTable(dataSource);
    }

    public async Task AppendAsync(string key, long first, string[] payloads)
    {
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO items SELECT 'bench', 'raw', @k, i.seq, i.at, i.payload FROM unnest(@q, @a, @p) AS i(seq, at, payload)");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        command.Parameters.AddWithValue("k", key);
        command.Parameters.Add(new NpgsqlParameter("q", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = Enumerable.Range(1, payloads.Length).Select(i => first + i).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("a", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = Enumerable.Repeat(now, payloads.Length).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = payloads });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<int> ReadAsync<T>(string key, long from, int max)
    {
        await using var select = _dataSource.CreateCommand(RawLogTable.Select);
        select.Parameters.AddWithValue("k", key);
        select.Parameters.AddWithValue("f", from);
        select.Parameters.AddWithValue("m", max);
        await using var reader = await select.ExecuteReaderAsync();
        var count = 0;
        while (await reader.ReadAsync())
        {
            _ = JsonSerializer.Deserialize<T>(reader.GetString(0), JsonSerializerOptions.Web);
            count++;
        }

        return count;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
