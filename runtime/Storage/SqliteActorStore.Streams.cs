using Microsoft.Data.Sqlite;

namespace Actors.Runtime;

public sealed partial class SqliteActorStore : IStreamStore
{
    private const string StreamFilter = "service_id = $s AND stream_ns = $ns AND stream_key = $k";

    // Writer thread only, like the state statements.
    private readonly Dictionary<string, SqliteCommand> _preparedStreamWrites = new(StringComparer.Ordinal);

    public async Task<StreamBounds> GetBoundsAsync(string serviceId, StreamId stream, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = StreamCommand(connection, serviceId, stream, $"""
            SELECT (SELECT MIN(seq) FROM actors_stream_items WHERE {StreamFilter}),
                   (SELECT seq FROM actors_stream_items WHERE {StreamFilter} ORDER BY seq DESC LIMIT 1),
                   (SELECT payload IS NULL FROM actors_stream_items WHERE {StreamFilter} ORDER BY seq DESC LIMIT 1)
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.IsDBNull(1)
            ? default
            : new StreamBounds(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2) == 1);
    }

    public Task AppendAsync(string serviceId, StreamId stream, IReadOnlyList<StreamRecord> records, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            var insert = PreparedStreamWrite(connection, transaction,
                "INSERT INTO actors_stream_items (service_id, stream_ns, stream_key, seq, appended_at, payload) VALUES ($s, $ns, $k, $q, $a, $p)",
                "$s", "$ns", "$k", "$q", "$a", "$p");
            insert.Parameters["$s"].Value = serviceId;
            insert.Parameters["$ns"].Value = stream.Namespace;
            insert.Parameters["$k"].Value = stream.Key;
            try
            {
                foreach (var record in records)
                {
                    insert.Parameters["$q"].Value = record.Seq;
                    insert.Parameters["$a"].Value = record.AppendedAtMs;
                    insert.Parameters["$p"].Value = (object?)record.Payload ?? DBNull.Value;
                    insert.ExecuteNonQuery();
                }
            }
            catch (SqliteException exception) when (exception.SqliteExtendedErrorCode == 1555) // SQLITE_CONSTRAINT_PRIMARYKEY
            {
                throw new StreamConflictException($"Stream {stream} already has items at {records[0].Seq}..{records[^1].Seq}: another writer appended first.", exception);
            }

            return true;
        }, cancellationToken);

    public async Task<IReadOnlyList<StreamRecord>> ReadAsync(string serviceId, StreamId stream, long from, int maxCount, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = StreamCommand(connection, serviceId, stream,
            $"SELECT seq, appended_at, payload FROM actors_stream_items WHERE {StreamFilter} AND seq >= $q ORDER BY seq LIMIT $n");
        command.Parameters.AddWithValue("$q", from);
        command.Parameters.AddWithValue("$n", maxCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<StreamRecord>(Math.Min(maxCount, 1024));
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new StreamRecord(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return records;
    }

    public Task TrimAsync(string serviceId, StreamId stream, long firstToKeep, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            var delete = PreparedStreamWrite(connection, transaction,
                $"DELETE FROM actors_stream_items WHERE {StreamFilter} AND seq < $q", "$s", "$ns", "$k", "$q");
            BindStream(delete, serviceId, stream);
            delete.Parameters["$q"].Value = firstToKeep;
            return delete.ExecuteNonQuery();
        }, cancellationToken);

    public Task<long> DeleteOlderThanAsync(string serviceId, string streamNamespace, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            // Each stream's newest row stays, expired or not: it carries the stream's numbering (and completion) across activations.
            var delete = PreparedStreamWrite(connection, transaction,
                """
                DELETE FROM actors_stream_items WHERE service_id = $s AND stream_ns = $ns AND appended_at < $a
                  AND seq < (SELECT MAX(j.seq) FROM actors_stream_items AS j WHERE j.service_id = actors_stream_items.service_id
                             AND j.stream_ns = actors_stream_items.stream_ns AND j.stream_key = actors_stream_items.stream_key)
                """, "$s", "$ns", "$a");
            delete.Parameters["$s"].Value = serviceId;
            delete.Parameters["$ns"].Value = streamNamespace;
            delete.Parameters["$a"].Value = cutoff.ToUnixTimeMilliseconds();
            return (long)delete.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyDictionary<string, long>> ReadCursorsAsync(string serviceId, StreamId stream, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = StreamCommand(connection, serviceId, stream, $"SELECT consumer, seq FROM actors_stream_cursors WHERE {StreamFilter}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            cursors[reader.GetString(0)] = reader.GetInt64(1);
        }

        return cursors;
    }

    public Task WriteCursorAsync(string serviceId, StreamId stream, string consumer, long seq, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            var upsert = PreparedStreamWrite(connection, transaction, """
                INSERT INTO actors_stream_cursors (service_id, stream_ns, stream_key, consumer, seq) VALUES ($s, $ns, $k, $c, $q)
                ON CONFLICT (service_id, stream_ns, stream_key, consumer) DO UPDATE SET seq = MAX(seq, excluded.seq)
                """, "$s", "$ns", "$k", "$c", "$q");
            BindStream(upsert, serviceId, stream);
            upsert.Parameters["$c"].Value = consumer;
            upsert.Parameters["$q"].Value = seq;
            return upsert.ExecuteNonQuery();
        }, cancellationToken);

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static SqliteCommand StreamCommand(SqliteConnection connection, string serviceId, StreamId stream, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$s", serviceId);
        command.Parameters.AddWithValue("$ns", stream.Namespace);
        command.Parameters.AddWithValue("$k", stream.Key);
        return command;
    }

    private static void BindStream(SqliteCommand command, string serviceId, StreamId stream)
    {
        command.Parameters["$s"].Value = serviceId;
        command.Parameters["$ns"].Value = stream.Namespace;
        command.Parameters["$k"].Value = stream.Key;
    }

    private SqliteCommand PreparedStreamWrite(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameters)
    {
        if (!_preparedStreamWrites.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            _preparedStreamWrites[sql] = command;
        }

        command.Transaction = transaction;
        return command;
    }
}
