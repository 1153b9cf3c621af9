using Npgsql;
using NpgsqlTypes;

namespace Actors.Runtime;

public sealed partial class PostgresActorStore : IStreamStore
{
    private const string StreamFilter = "service_id = @s AND stream_ns = @ns AND stream_key = @k";

    public async Task<StreamBounds> GetBoundsAsync(string serviceId, StreamId stream, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream, $"""
            SELECT (SELECT MIN(seq) FROM actors_stream_items WHERE {StreamFilter}),
                   last.seq, last.payload IS NULL
            FROM (SELECT 1) AS one
            LEFT JOIN LATERAL (SELECT seq, payload FROM actors_stream_items WHERE {StreamFilter} ORDER BY seq DESC LIMIT 1) AS last ON true
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.IsDBNull(1) ? default : new StreamBounds(reader.GetInt64(0), reader.GetInt64(1), reader.GetBoolean(2));
    }

    public async Task AppendAsync(string serviceId, StreamId stream, IReadOnlyList<StreamRecord> records, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        // One statement for the whole batch: the arrays travel as parameters, so a batch costs one round trip.
        var seqs = new long[records.Count];
        var times = new long[records.Count];
        var payloads = new string?[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            seqs[i] = records[i].Seq;
            times[i] = records[i].AppendedAtMs;
            payloads[i] = records[i].Payload;
        }

        await using var command = StreamCommand(serviceId, stream, """
            INSERT INTO actors_stream_items (service_id, stream_ns, stream_key, seq, appended_at, payload)
            SELECT @s, @ns, @k, item.seq, item.appended_at, item.payload FROM unnest(@q, @a, @p) AS item(seq, appended_at, payload)
            """);
        command.Parameters.Add(new NpgsqlParameter("q", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = seqs });
        command.Parameters.Add(new NpgsqlParameter("a", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = times });
        command.Parameters.Add(new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = payloads });
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new StreamConflictException($"Stream {stream} already has items at {records[0].Seq}..{records[^1].Seq}: another writer appended first.", exception);
        }
    }

    public async Task<IReadOnlyList<StreamRecord>> ReadAsync(string serviceId, StreamId stream, long from, int maxCount, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream,
            $"SELECT seq, appended_at, payload FROM actors_stream_items WHERE {StreamFilter} AND seq >= @q ORDER BY seq LIMIT @n");
        command.Parameters.AddWithValue("q", from);
        command.Parameters.AddWithValue("n", maxCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<StreamRecord>(Math.Min(maxCount, 1024));
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new StreamRecord(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return records;
    }

    public async Task TrimAsync(string serviceId, StreamId stream, long firstToKeep, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream, $"DELETE FROM actors_stream_items WHERE {StreamFilter} AND seq < @q");
        command.Parameters.AddWithValue("q", firstToKeep);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> DeleteOlderThanAsync(string serviceId, string streamNamespace, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        // Each stream's newest row stays, expired or not: it carries the stream's numbering (and completion) across activations.
        await using var command = _dataSource.CreateCommand("""
            DELETE FROM actors_stream_items WHERE service_id = @s AND stream_ns = @ns AND appended_at < @a
              AND seq < (SELECT MAX(j.seq) FROM actors_stream_items AS j WHERE j.service_id = actors_stream_items.service_id
                         AND j.stream_ns = actors_stream_items.stream_ns AND j.stream_key = actors_stream_items.stream_key)
            """);
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("ns", streamNamespace);
        command.Parameters.AddWithValue("a", cutoff.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, long>> ReadCursorsAsync(string serviceId, StreamId stream, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream, $"SELECT consumer, seq FROM actors_stream_cursors WHERE {StreamFilter}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            cursors[reader.GetString(0)] = reader.GetInt64(1);
        }

        return cursors;
    }

    public async Task WriteCursorAsync(string serviceId, StreamId stream, string consumer, long seq, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream, """
            INSERT INTO actors_stream_cursors (service_id, stream_ns, stream_key, consumer, seq) VALUES (@s, @ns, @k, @c, @q)
            ON CONFLICT (service_id, stream_ns, stream_key, consumer) DO UPDATE SET seq = GREATEST(actors_stream_cursors.seq, excluded.seq)
            """);
        command.Parameters.AddWithValue("c", consumer);
        command.Parameters.AddWithValue("q", seq);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private NpgsqlCommand StreamCommand(string serviceId, StreamId stream, string sql)
    {
        var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("ns", stream.Namespace);
        command.Parameters.AddWithValue("k", stream.Key);
        return command;
    }
}
