using Microsoft.Data.Sqlite;

namespace Actors.Extensions.Streams;

public sealed partial class SqliteLogStore
{
    private const string Filter = LogSchema.StreamFilter;
    private const int SqliteConstraintPrimaryKey = 1555;

    // Used by the writer thread only.
    private readonly Dictionary<string, SqliteCommand> _preparedWrites = new(StringComparer.Ordinal);

    public async Task<LogBounds> GetBoundsAsync(string serviceId, LogStreamId stream, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = StreamCommand(connection, serviceId, stream, $"""
            SELECT (SELECT MIN(seq) FROM log_items WHERE {Filter}),
                   (SELECT seq FROM log_items WHERE {Filter} ORDER BY seq DESC LIMIT 1),
                   (SELECT payload IS NULL FROM log_items WHERE {Filter} ORDER BY seq DESC LIMIT 1)
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.IsDBNull(1) ? default : new LogBounds(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2) == 1);
    }

    public Task AppendAsync(string serviceId, LogStreamId stream, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        return WriteAsync((connection, transaction) =>
        {
            var insert = PreparedWrite(connection, transaction,
                "INSERT INTO log_items (service_id, stream_ns, stream_key, seq, appended_at, payload) VALUES (@s, @ns, @k, @q, @a, @p)",
                "@s", "@ns", "@k", "@q", "@a", "@p");
            BindStream(insert, serviceId, stream);
            try
            {
                foreach (var record in records)
                {
                    insert.Parameters["@q"].Value = record.Seq;
                    insert.Parameters["@a"].Value = record.AppendedAtMs;
                    insert.Parameters["@p"].Value = (object?)record.Payload ?? DBNull.Value;
                    insert.ExecuteNonQuery();
                }
            }
            catch (SqliteException exception) when (exception.SqliteExtendedErrorCode == SqliteConstraintPrimaryKey)
            {
                throw new LogStoreConflictException(
                    $"Log stream {stream} already has entries at {records[0].Seq}..{records[^1].Seq}: another writer appended first.", exception);
            }

            return true;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<LogRecord>> ReadAsync(string serviceId, LogStreamId stream, long from, int maxCount, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = StreamCommand(connection, serviceId, stream,
            $"SELECT seq, appended_at, payload FROM log_items WHERE {Filter} AND seq >= @q ORDER BY seq LIMIT @n");
        command.Parameters.AddWithValue("@q", from);
        command.Parameters.AddWithValue("@n", maxCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<LogRecord>(Math.Min(maxCount, 1024));
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new LogRecord(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return records;
    }

    public Task TrimAsync(string serviceId, LogStreamId stream, long firstToKeep, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            var delete = PreparedWrite(connection, transaction, $"DELETE FROM log_items WHERE {Filter} AND seq < @q", "@s", "@ns", "@k", "@q");
            BindStream(delete, serviceId, stream);
            delete.Parameters["@q"].Value = firstToKeep;
            return delete.ExecuteNonQuery();
        }, cancellationToken);

    public Task<long> DeleteOlderThanAsync(string serviceId, string streamNamespace, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            // Each stream's newest row stays, expired or not: it carries the numbering (and completion) across activations.
            var delete = PreparedWrite(connection, transaction, """
                DELETE FROM log_items WHERE service_id = @s AND stream_ns = @ns AND appended_at < @a
                  AND seq < (SELECT MAX(j.seq) FROM log_items AS j WHERE j.service_id = log_items.service_id
                             AND j.stream_ns = log_items.stream_ns AND j.stream_key = log_items.stream_key)
                """, "@s", "@ns", "@a");
            delete.Parameters["@s"].Value = serviceId;
            delete.Parameters["@ns"].Value = streamNamespace;
            delete.Parameters["@a"].Value = cutoff.ToUnixTimeMilliseconds();
            return (long)delete.ExecuteNonQuery();
        }, cancellationToken);

    public async Task<IReadOnlyDictionary<string, long>> ReadCursorsAsync(string serviceId, LogStreamId stream, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = StreamCommand(connection, serviceId, stream, $"SELECT consumer, seq FROM log_cursors WHERE {Filter}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            cursors[reader.GetString(0)] = reader.GetInt64(1);
        }

        return cursors;
    }

    public Task WriteCursorAsync(string serviceId, LogStreamId stream, string consumer, long seq, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            var upsert = PreparedWrite(connection, transaction, """
                INSERT INTO log_cursors (service_id, stream_ns, stream_key, consumer, seq) VALUES (@s, @ns, @k, @c, @q)
                ON CONFLICT (service_id, stream_ns, stream_key, consumer) DO UPDATE SET seq = MAX(seq, excluded.seq)
                """, "@s", "@ns", "@k", "@c", "@q");
            BindStream(upsert, serviceId, stream);
            upsert.Parameters["@c"].Value = consumer;
            upsert.Parameters["@q"].Value = seq;
            return upsert.ExecuteNonQuery();
        }, cancellationToken);

    private static SqliteCommand StreamCommand(SqliteConnection connection, string serviceId, LogStreamId stream, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@s", serviceId);
        command.Parameters.AddWithValue("@ns", stream.Namespace);
        command.Parameters.AddWithValue("@k", stream.Key);
        return command;
    }

    private static void BindStream(SqliteCommand command, string serviceId, LogStreamId stream)
    {
        command.Parameters["@s"].Value = serviceId;
        command.Parameters["@ns"].Value = stream.Namespace;
        command.Parameters["@k"].Value = stream.Key;
    }

    private SqliteCommand PreparedWrite(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] parameters)
    {
        if (!_preparedWrites.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            _preparedWrites[sql] = command;
        }

        command.Transaction = transaction;
        return command;
    }

    private void DisposePreparedWrites()
    {
        foreach (var command in _preparedWrites.Values)
        {
            command.Dispose();
        }

        _preparedWrites.Clear();
    }
}
