using Npgsql;
using NpgsqlTypes;

namespace Actors.Extensions.Streams;

/// <summary>
/// Log streams in PostgreSQL (cluster mode). The tables are created at start, idempotently, under an advisory lock (silos
/// starting together must not race on CREATE TABLE), with a version row for later migrations. Each flush of a stream is one
/// INSERT of arrays (one round trip however many items the flush carries).
/// </summary>
public sealed partial class PostgresLogStore : ILogStore, IAsyncDisposable
{
    private const string Filter = LogSchema.StreamFilter;
    private const int SchemaVersion = 2;
    // Any fixed number will do; it only has to differ from the other advisory locks the product takes.
    private const long SchemaLockKey = 0x4C4F_4753; // "LOGS"

    private readonly NpgsqlDataSource _dataSource;
    private readonly OnceUntilSuccess _initialized;

    public PostgresLogStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _initialized = new OnceUntilSuccess(InitializeCoreAsync);
    }

    public Task InitializeAsync() => _initialized.EnsureAsync();

    private async Task InitializeCoreAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({SchemaLockKey})");
        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS log_schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)");
        await using (var check = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM log_schema_version", connection))
        {
            var found = Convert.ToInt64(await check.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
            if (found > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"The database holds log streams of schema version {found}, newer than this build's {SchemaVersion}: run the newer build.");
            }

            if (found < 1)
            {
                await ExecuteAsync(connection, LogSchema.Version1);
                await ExecuteAsync(connection, $"INSERT INTO log_schema_version (version, applied_at) VALUES (1, {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()})");
            }

            if (found < 2)
            {
                await ExecuteAsync(connection, Records.RecordSchema.Version2);
                await ExecuteAsync(connection, $"INSERT INTO log_schema_version (version, applied_at) VALUES (2, {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()})");
            }
        }

        await transaction.CommitAsync();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<LogBounds> GetBoundsAsync(string serviceId, LogStreamId stream, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream, $"""
            SELECT (SELECT MIN(seq) FROM log_items WHERE {Filter}), last.seq, last.payload IS NULL
            FROM (SELECT 1) AS one
            LEFT JOIN LATERAL (SELECT seq, payload FROM log_items WHERE {Filter} ORDER BY seq DESC LIMIT 1) AS last ON true
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.IsDBNull(1) ? default : new LogBounds(reader.GetInt64(0), reader.GetInt64(1), reader.GetBoolean(2));
    }

    public async Task AppendAsync(string serviceId, LogStreamId stream, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        await _initialized.EnsureAsync();
        var seqs = new long[records.Count];
        var times = new long[records.Count];
        var payloads = new string?[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            (seqs[i], times[i], payloads[i]) = (records[i].Seq, records[i].AppendedAtMs, records[i].Payload);
        }

        await using var command = StreamCommand(serviceId, stream, """
            INSERT INTO log_items (service_id, stream_ns, stream_key, seq, appended_at, payload)
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
            throw new LogStoreConflictException(
                $"Log stream {stream} already has entries at {records[0].Seq}..{records[^1].Seq}: another writer appended first.", exception);
        }
    }

    public async Task<IReadOnlyList<LogRecord>> ReadAsync(string serviceId, LogStreamId stream, long from, int maxCount, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream,
            $"SELECT seq, appended_at, payload FROM log_items WHERE {Filter} AND seq >= @q ORDER BY seq LIMIT @n");
        command.Parameters.AddWithValue("q", from);
        command.Parameters.AddWithValue("n", maxCount);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<LogRecord>(Math.Min(maxCount, 1024));
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new LogRecord(reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }

        return records;
    }

    public async Task TrimAsync(string serviceId, LogStreamId stream, long firstToKeep, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream, $"DELETE FROM log_items WHERE {Filter} AND seq < @q");
        command.Parameters.AddWithValue("q", firstToKeep);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> DeleteOlderThanAsync(string serviceId, string streamNamespace, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        // Each stream's newest row stays, expired or not: it carries the numbering (and completion) across activations.
        await using var command = _dataSource.CreateCommand("""
            DELETE FROM log_items WHERE service_id = @s AND stream_ns = @ns AND appended_at < @a
              AND seq < (SELECT MAX(j.seq) FROM log_items AS j WHERE j.service_id = log_items.service_id
                         AND j.stream_ns = log_items.stream_ns AND j.stream_key = log_items.stream_key)
            """);
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("ns", streamNamespace);
        command.Parameters.AddWithValue("a", cutoff.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, long>> ReadCursorsAsync(string serviceId, LogStreamId stream, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream, $"SELECT consumer, seq FROM log_cursors WHERE {Filter}");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var cursors = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            cursors[reader.GetString(0)] = reader.GetInt64(1);
        }

        return cursors;
    }

    public async Task WriteCursorAsync(string serviceId, LogStreamId stream, string consumer, long seq, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = StreamCommand(serviceId, stream, """
            INSERT INTO log_cursors (service_id, stream_ns, stream_key, consumer, seq) VALUES (@s, @ns, @k, @c, @q)
            ON CONFLICT (service_id, stream_ns, stream_key, consumer) DO UPDATE SET seq = GREATEST(log_cursors.seq, excluded.seq)
            """);
        command.Parameters.AddWithValue("c", consumer);
        command.Parameters.AddWithValue("q", seq);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private NpgsqlCommand StreamCommand(string serviceId, LogStreamId stream, string sql)
    {
        var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("ns", stream.Namespace);
        command.Parameters.AddWithValue("k", stream.Key);
        return command;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
