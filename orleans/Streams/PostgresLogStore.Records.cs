using Actors.Extensions.Records;
using Npgsql;

namespace Actors.Extensions.Streams;

/// <summary>Record tables in the log store's database. Appends to one partition take a transaction-scoped advisory lock, so two silos never number two records alike.</summary>
public sealed partial class PostgresLogStore : IRecordStore
{
    private const string RecordFilter = RecordSchema.PartitionFilter;

    public async Task<IReadOnlyList<long>> WriteAsync(string serviceId, IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        foreach (var write in writes)
        {
            write.Validate();
        }

        await _initialized.EnsureAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var positions = new long[writes.Count];
        try
        {
            // Appends number from MAX + 1: one writer per partition at a time, locks taken in one order (no deadlock).
            foreach (var (table, partition) in writes.Where(w => w.Position is null).Select(w => (w.Table, w.Partition)).Distinct()
                         .OrderBy(p => p.Table, StringComparer.Ordinal).ThenBy(p => p.Partition, StringComparer.Ordinal))
            {
                await using var lockPartition = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@s || '/' || @t || '/' || @p, 0))", connection);
                lockPartition.Parameters.AddWithValue("s", serviceId);
                lockPartition.Parameters.AddWithValue("t", table);
                lockPartition.Parameters.AddWithValue("p", partition);
                await lockPartition.ExecuteNonQueryAsync(cancellationToken);
            }

            for (var i = 0; i < writes.Count; i++)
            {
                positions[i] = await WriteRecordAsync(connection, serviceId, writes[i], now, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new RecordConflictException("A record's position or key is taken: another writer stored it first.", exception);
        }

        return positions;
    }

    private static async Task<long> WriteRecordAsync(NpgsqlConnection connection, string serviceId, RecordWrite write, long now, CancellationToken cancellationToken)
    {
        long? found;
        await using (var byKey = RecordCommand(connection, serviceId, write, $"SELECT seq FROM stored_records WHERE {RecordFilter} AND item_key = @k"))
        {
            byKey.Parameters.AddWithValue("k", write.Key);
            found = await byKey.ExecuteScalarAsync(cancellationToken) is long position ? position : null;
        }

        if (write.Position is not { } wanted)
        {
            if (found is { } existing)
            {
                return existing;
            }

            await using var append = RecordCommand(connection, serviceId, write, $"""
                INSERT INTO stored_records (service_id, table_name, partition_key, seq, item_key, written_at, payload)
                SELECT @s, @t, @p, COALESCE(MAX(seq), 0) + 1, @k, @a, @v FROM stored_records WHERE {RecordFilter}
                RETURNING seq
                """);
            append.Parameters.AddWithValue("k", write.Key);
            append.Parameters.AddWithValue("a", now);
            append.Parameters.AddWithValue("v", write.Payload);
            return (long)(await append.ExecuteScalarAsync(cancellationToken))!;
        }

        if (found is { } other && other != wanted)
        {
            throw new RecordConflictException($"Record '{write.Key}' of {write.Table}/{write.Partition} is at position {other}, not {wanted}.");
        }

        await using var put = RecordCommand(connection, serviceId, write, $"""
            INSERT INTO stored_records (service_id, table_name, partition_key, seq, item_key, written_at, payload) VALUES (@s, @t, @p, @q, @k, @a, @v)
            ON CONFLICT (service_id, table_name, partition_key, seq) DO UPDATE SET payload = excluded.payload, written_at = excluded.written_at
            WHERE stored_records.item_key = excluded.item_key
            RETURNING seq
            """);
        put.Parameters.AddWithValue("q", wanted);
        put.Parameters.AddWithValue("k", write.Key);
        put.Parameters.AddWithValue("a", now);
        put.Parameters.AddWithValue("v", write.Payload);
        // No row back: the position holds another key (the update's condition failed).
        return await put.ExecuteScalarAsync(cancellationToken) is long stored
            ? stored
            : throw new RecordConflictException($"Position {wanted} of {write.Table}/{write.Partition} holds another record than '{write.Key}'.");
    }

    private static NpgsqlCommand RecordCommand(NpgsqlConnection connection, string serviceId, RecordWrite write, string sql)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("t", write.Table);
        command.Parameters.AddWithValue("p", write.Partition);
        return command;
    }

    public async Task<IReadOnlyList<StoredRecord>> ReadNewestAsync(string serviceId, string table, string partition, long? before, int maxCount,
        CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        await _initialized.EnsureAsync();
        await using var command = PartitionCommand(serviceId, table, partition,
            $"SELECT seq, item_key, written_at, payload FROM stored_records WHERE {RecordFilter} AND seq < @q ORDER BY seq DESC LIMIT @n");
        command.Parameters.AddWithValue("q", before ?? long.MaxValue);
        command.Parameters.AddWithValue("n", maxCount);
        return await StoredRecords.ReadAsync(command, maxCount, cancellationToken);
    }

    public async Task<StoredRecord?> FindAsync(string serviceId, string table, string partition, string key, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        await _initialized.EnsureAsync();
        await using var command = PartitionCommand(serviceId, table, partition,
            $"SELECT seq, item_key, written_at, payload FROM stored_records WHERE {RecordFilter} AND item_key = @k");
        command.Parameters.AddWithValue("k", key);
        var found = await StoredRecords.ReadAsync(command, 1, cancellationToken);
        return found.Count > 0 ? found[0] : null;
    }

    public async Task<long> LastPositionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        await _initialized.EnsureAsync();
        await using var command = PartitionCommand(serviceId, table, partition, $"SELECT COALESCE(MAX(seq), 0) FROM stored_records WHERE {RecordFilter}");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<long> DeletePartitionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        await _initialized.EnsureAsync();
        await using var command = PartitionCommand(serviceId, table, partition, $"DELETE FROM stored_records WHERE {RecordFilter}");
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private NpgsqlCommand PartitionCommand(string serviceId, string table, string partition, string sql)
    {
        var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("t", table);
        command.Parameters.AddWithValue("p", partition);
        return command;
    }
}
