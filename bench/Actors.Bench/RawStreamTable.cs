using Npgsql;
using NpgsqlTypes;

namespace Actors.Bench;

/// <summary>The baselines' table: the shape of <c>actors_stream_items</c>, written with the same one-statement batch insert.</summary>
internal static class RawStreamTable
{
    public static async Task CreateAsync(NpgsqlDataSource dataSource)
    {
        await using var setup = dataSource.CreateCommand("""
            CREATE TABLE IF NOT EXISTS items (s TEXT NOT NULL, ns TEXT NOT NULL, k TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL, payload TEXT NULL,
                PRIMARY KEY (s, ns, k, seq));
            CREATE INDEX IF NOT EXISTS items_by_age ON items (s, ns, at);
            """);
        await setup.ExecuteNonQueryAsync();
    }

    /// <summary>Rows first+1 .. first+payloads.Length of stream <paramref name="key"/>, in one <c>INSERT … unnest</c>.</summary>
    public static async Task InsertAsync(NpgsqlDataSource dataSource, string key, long first, long timeMs, string[] payloads)
    {
        await using var command = dataSource.CreateCommand(
            "INSERT INTO items SELECT 'bench', 'raw', @k, i.seq, i.at, i.payload FROM unnest(@q, @a, @p) AS i(seq, at, payload)");
        command.Parameters.AddWithValue("k", key);
        command.Parameters.Add(new NpgsqlParameter("q", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = Enumerable.Range(1, payloads.Length).Select(i => first + i).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("a", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = Enumerable.Repeat(timeMs, payloads.Length).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = payloads });
        await command.ExecuteNonQueryAsync();
    }
}
