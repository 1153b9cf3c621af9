namespace Actors.Extensions.Records;

/// <summary>
/// Tables of records kept in the log streams' store (the same SQLite file, PostgreSQL database or memory), for histories
/// that outgrow a grain's state: the grain keeps what its decisions need, the table keeps every record, and readers take
/// it in pages. A record has a position in its partition (gap-free when appended, 1, 2, 3…) and a key unique in the
/// partition, so it is found by either; pages are read newest first.
/// </summary>
public interface IRecordStore
{
    /// <summary>
    /// Stores every write in one transaction (all of them or none) and answers each one's position, in order. An append
    /// whose key the partition holds already writes nothing and answers that record's position, so a retried append is
    /// stored once.
    /// </summary>
    /// <exception cref="RecordConflictException">A put found its position held by another key, or its key at another position.</exception>
    Task<IReadOnlyList<long>> WriteAsync(string serviceId, IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> records, newest (highest position) first, below <paramref name="before"/> when given.</summary>
    Task<IReadOnlyList<StoredRecord>> ReadNewestAsync(string serviceId, string table, string partition, long? before, int maxCount,
        CancellationToken cancellationToken);

    Task<StoredRecord?> FindAsync(string serviceId, string table, string partition, string key, CancellationToken cancellationToken);

    /// <summary>The partition's highest position; 0 when it holds nothing.</summary>
    Task<long> LastPositionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken);

    /// <summary>Deletes every record of the partition; answers how many.</summary>
    Task<long> DeletePartitionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken);
}

/// <summary>
/// One record to store. Without <see cref="Position"/> it is appended at the partition's next position; with one it is put
/// there: inserted, or replacing the record at that position when that record has the same key.
/// </summary>
/// <param name="Table">What kind of record (<c>deployments</c>); 1–64 characters of a-z, 0-9, '.', '_' or '-'.</param>
/// <param name="Partition">Whose records (<c>acme/web</c>); 1–256 characters.</param>
/// <param name="Key">Unique in the partition; 1–256 characters.</param>
/// <param name="Payload">The record, as text (JSON), readable by any later version.</param>
public sealed record RecordWrite(string Table, string Partition, string Key, string Payload, long? Position = null)
{
    internal void Validate()
    {
        RecordNames.Require(Table, Partition);
        if (string.IsNullOrEmpty(Key) || Key.Length > RecordNames.MaxLength)
        {
            throw new ArgumentException($"A record key must be 1-{RecordNames.MaxLength} characters.", nameof(Key));
        }

        ArgumentNullException.ThrowIfNull(Payload);
        if (Position is < 1)
        {
            throw new ArgumentException("A record's position is 1 or more.", nameof(Position));
        }
    }
}

/// <summary>A stored record: its position in the partition, its key, when it was last written (Unix milliseconds) and its payload.</summary>
public sealed record StoredRecord(long Position, string Key, long WrittenAtMs, string Payload);

/// <summary>A put would have given one position two keys, or one key two positions: nothing of its write was stored.</summary>
public sealed class RecordConflictException : Exception
{
    public RecordConflictException()
    {
    }

    public RecordConflictException(string message) : base(message)
    {
    }

    public RecordConflictException(string message, Exception inner) : base(message, inner)
    {
    }
}

internal static partial class RecordNames
{
    public const int MaxLength = 256;

    public static void Require(string table, string partition)
    {
        if (string.IsNullOrEmpty(table) || !TablePattern().IsMatch(table))
        {
            throw new ArgumentException($"Record table '{table}' must be 1-64 characters of a-z, 0-9, '.', '_' or '-'.", nameof(table));
        }

        if (string.IsNullOrEmpty(partition) || partition.Length > MaxLength)
        {
            throw new ArgumentException($"A record partition must be 1-{MaxLength} characters.", nameof(partition));
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9._-]{1,64}$")]
    private static partial System.Text.RegularExpressions.Regex TablePattern();
}

/// <summary>The records table, the same in SQLite and PostgreSQL (version 2 of the log store's schema).</summary>
internal static class RecordSchema
{
    public const string Version2 = """
        CREATE TABLE IF NOT EXISTS stored_records (
            service_id    TEXT NOT NULL,
            table_name    TEXT NOT NULL,
            partition_key TEXT NOT NULL,
            seq           BIGINT NOT NULL,
            item_key      TEXT NOT NULL,
            written_at    BIGINT NOT NULL,
            payload       TEXT NOT NULL,
            PRIMARY KEY (service_id, table_name, partition_key, seq)
        );
        CREATE UNIQUE INDEX IF NOT EXISTS stored_records_by_key ON stored_records (service_id, table_name, partition_key, item_key);
        """;

    public const string PartitionFilter = "service_id = @s AND table_name = @t AND partition_key = @p";
}

/// <summary>Rows of (position, key, written_at_ms, payload), in that column order, as the record stores select them.</summary>
internal static class StoredRecords
{
    public static async Task<IReadOnlyList<StoredRecord>> ReadAsync(System.Data.Common.DbCommand command, int maxCount, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var records = new List<StoredRecord>(Math.Min(maxCount, 1024));
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(new StoredRecord(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3)));
        }

        return records;
    }
}
