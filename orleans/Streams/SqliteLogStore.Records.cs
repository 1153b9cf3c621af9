using Actors.Extensions.Records;
using Microsoft.Data.Sqlite;

namespace Actors.Extensions.Streams;

/// <summary>Record tables in the log store's file, written through the same group-commit loop as appends.</summary>
public sealed partial class SqliteLogStore : IRecordStore
{
    private const string RecordFilter = RecordSchema.PartitionFilter;

    public Task<IReadOnlyList<long>> WriteAsync(string serviceId, IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        foreach (var write in writes)
        {
            write.Validate();
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // One operation, so one transaction: a conflict in any write rolls back all of them.
        return WriteAsync<IReadOnlyList<long>>((connection, transaction) =>
        {
            var positions = new long[writes.Count];
            for (var i = 0; i < writes.Count; i++)
            {
                positions[i] = WriteRecord(connection, transaction, serviceId, writes[i], now);
            }

            return positions;
        }, cancellationToken);
    }

    private long WriteRecord(SqliteConnection connection, SqliteTransaction transaction, string serviceId, RecordWrite write, long now)
    {
        var byKey = RecordCommand(connection, transaction, $"SELECT seq FROM stored_records WHERE {RecordFilter} AND item_key = @k", serviceId, write, "@k");
        byKey.Parameters["@k"].Value = write.Key;
        var found = byKey.ExecuteScalar() is long position ? position : (long?)null;
        if (write.Position is not { } wanted)
        {
            if (found is { } existing)
            {
                return existing;
            }

            var last = RecordCommand(connection, transaction, $"SELECT COALESCE(MAX(seq), 0) FROM stored_records WHERE {RecordFilter}", serviceId, write);
            var next = (long)last.ExecuteScalar()! + 1;
            InsertRecord(connection, transaction, serviceId, write, next, now);
            return next;
        }

        if (found is { } other && other != wanted)
        {
            throw new RecordConflictException($"Record '{write.Key}' of {write.Table}/{write.Partition} is at position {other}, not {wanted}.");
        }

        var holder = RecordCommand(connection, transaction, $"SELECT item_key FROM stored_records WHERE {RecordFilter} AND seq = @q", serviceId, write, "@q");
        holder.Parameters["@q"].Value = wanted;
        switch (holder.ExecuteScalar())
        {
            case null:
                InsertRecord(connection, transaction, serviceId, write, wanted, now);
                break;
            case string key when key == write.Key:
                var update = RecordCommand(connection, transaction,
                    $"UPDATE stored_records SET payload = @v, written_at = @a WHERE {RecordFilter} AND seq = @q", serviceId, write, "@v", "@a", "@q");
                update.Parameters["@v"].Value = write.Payload;
                update.Parameters["@a"].Value = now;
                update.Parameters["@q"].Value = wanted;
                update.ExecuteNonQuery();
                break;
            case string key:
                throw new RecordConflictException($"Position {wanted} of {write.Table}/{write.Partition} holds record '{key}', not '{write.Key}'.");
        }

        return wanted;
    }

    private void InsertRecord(SqliteConnection connection, SqliteTransaction transaction, string serviceId, RecordWrite write, long position, long now)
    {
        var insert = RecordCommand(connection, transaction, """
            INSERT INTO stored_records (service_id, table_name, partition_key, seq, item_key, written_at, payload) VALUES (@s, @t, @p, @q, @k, @a, @v)
            """, serviceId, write, "@q", "@k", "@a", "@v");
        insert.Parameters["@q"].Value = position;
        insert.Parameters["@k"].Value = write.Key;
        insert.Parameters["@a"].Value = now;
        insert.Parameters["@v"].Value = write.Payload;
        insert.ExecuteNonQuery();
    }

    private SqliteCommand RecordCommand(SqliteConnection connection, SqliteTransaction transaction, string sql, string serviceId, RecordWrite write,
        params string[] more)
    {
        var command = PreparedWrite(connection, transaction, sql, ["@s", "@t", "@p", .. more]);
        command.Parameters["@s"].Value = serviceId;
        command.Parameters["@t"].Value = write.Table;
        command.Parameters["@p"].Value = write.Partition;
        return command;
    }

    public async Task<IReadOnlyList<StoredRecord>> ReadNewestAsync(string serviceId, string table, string partition, long? before, int maxCount,
        CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = PartitionCommand(connection, serviceId, table, partition,
            $"SELECT seq, item_key, written_at, payload FROM stored_records WHERE {RecordFilter} AND seq < @q ORDER BY seq DESC LIMIT @n");
        command.Parameters.AddWithValue("@q", before ?? long.MaxValue);
        command.Parameters.AddWithValue("@n", maxCount);
        return await StoredRecords.ReadAsync(command, maxCount, cancellationToken);
    }

    public async Task<StoredRecord?> FindAsync(string serviceId, string table, string partition, string key, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = PartitionCommand(connection, serviceId, table, partition,
            $"SELECT seq, item_key, written_at, payload FROM stored_records WHERE {RecordFilter} AND item_key = @k");
        command.Parameters.AddWithValue("@k", key);
        var found = await StoredRecords.ReadAsync(command, 1, cancellationToken);
        return found.Count > 0 ? found[0] : null;
    }

    public async Task<long> LastPositionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        await using var connection = await OpenReaderAsync(cancellationToken);
        await using var command = PartitionCommand(connection, serviceId, table, partition, $"SELECT COALESCE(MAX(seq), 0) FROM stored_records WHERE {RecordFilter}");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public Task<long> DeletePartitionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        return WriteAsync((connection, transaction) =>
        {
            var delete = PreparedWrite(connection, transaction, $"DELETE FROM stored_records WHERE {RecordFilter}", "@s", "@t", "@p");
            delete.Parameters["@s"].Value = serviceId;
            delete.Parameters["@t"].Value = table;
            delete.Parameters["@p"].Value = partition;
            return (long)delete.ExecuteNonQuery();
        }, cancellationToken);
    }

    private static SqliteCommand PartitionCommand(SqliteConnection connection, string serviceId, string table, string partition, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("@s", serviceId);
        command.Parameters.AddWithValue("@t", table);
        command.Parameters.AddWithValue("@p", partition);
        return command;
    }
}
