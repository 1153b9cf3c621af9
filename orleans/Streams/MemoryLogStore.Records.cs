using Actors.Extensions.Records;

namespace Actors.Extensions.Streams;

/// <summary>Record tables in process memory (tests), with the same numbering and conflicts as the durable stores.</summary>
public sealed partial class MemoryLogStore : IRecordStore
{
    private readonly Dictionary<(string Service, string Table, string Partition), SortedList<long, StoredRecord>> _records = [];

    public Task<IReadOnlyList<long>> WriteAsync(string serviceId, IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writes);
        foreach (var write in writes)
        {
            write.Validate();
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        lock (_lock)
        {
            // Applied to copies first, so a conflict in any write leaves every partition as it was.
            var copies = new Dictionary<(string, string, string), SortedList<long, StoredRecord>>();
            var positions = new long[writes.Count];
            for (var i = 0; i < writes.Count; i++)
            {
                var write = writes[i];
                var id = (serviceId, write.Table, write.Partition);
                if (!copies.TryGetValue(id, out var records))
                {
                    copies[id] = records = _records.TryGetValue(id, out var stored) ? new SortedList<long, StoredRecord>(stored) : [];
                }

                positions[i] = Write(records, write, now);
            }

            foreach (var (id, records) in copies)
            {
                _records[id] = records;
            }

            return Task.FromResult<IReadOnlyList<long>>(positions);
        }
    }

    private static long Write(SortedList<long, StoredRecord> records, RecordWrite write, long now)
    {
        var found = records.Values.FirstOrDefault(r => r.Key == write.Key);
        if (write.Position is not { } wanted)
        {
            if (found is not null)
            {
                return found.Position;
            }

            var next = records.Count == 0 ? 1 : records.Keys[^1] + 1;
            records[next] = new StoredRecord(next, write.Key, now, write.Payload);
            return next;
        }

        if (found is not null && found.Position != wanted)
        {
            throw new RecordConflictException($"Record '{write.Key}' of {write.Table}/{write.Partition} is at position {found.Position}, not {wanted}.");
        }

        if (records.TryGetValue(wanted, out var holder) && holder.Key != write.Key)
        {
            throw new RecordConflictException($"Position {wanted} of {write.Table}/{write.Partition} holds record '{holder.Key}', not '{write.Key}'.");
        }

        records[wanted] = new StoredRecord(wanted, write.Key, now, write.Payload);
        return wanted;
    }

    public Task<IReadOnlyList<StoredRecord>> ReadNewestAsync(string serviceId, string table, string partition, long? before, int maxCount,
        CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        lock (_lock)
        {
            IReadOnlyList<StoredRecord> page = _records.TryGetValue((serviceId, table, partition), out var records)
                ? [.. records.Values.Reverse().Where(r => before is not { } limit || r.Position < limit).Take(maxCount)]
                : [];
            return Task.FromResult(page);
        }
    }

    public Task<StoredRecord?> FindAsync(string serviceId, string table, string partition, string key, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        lock (_lock)
        {
            return Task.FromResult(_records.TryGetValue((serviceId, table, partition), out var records)
                ? records.Values.FirstOrDefault(r => r.Key == key)
                : null);
        }
    }

    public Task<long> LastPositionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        lock (_lock)
        {
            return Task.FromResult(_records.TryGetValue((serviceId, table, partition), out var records) && records.Count > 0 ? records.Keys[^1] : 0L);
        }
    }

    public Task<long> DeletePartitionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken)
    {
        RecordNames.Require(table, partition);
        lock (_lock)
        {
            return Task.FromResult(_records.Remove((serviceId, table, partition), out var records) ? (long)records.Count : 0L);
        }
    }
}
