namespace Actors.Extensions.Streams;

/// <summary>Log streams in process memory, for tests that need no durability. Shared by every silo given the same instance.</summary>
public sealed partial class MemoryLogStore : ILogStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string, LogStreamId), SortedList<long, LogRecord>> _items = [];
    private readonly Dictionary<(string, LogStreamId, string), long> _cursors = [];

    public Task<LogBounds> GetBoundsAsync(string serviceId, LogStreamId stream, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_items.TryGetValue((serviceId, stream), out var items) && items.Count > 0
                ? new LogBounds(items.Keys[0], items.Keys[^1], items.Values[^1].IsCompletion)
                : default);
        }
    }

    public Task AppendAsync(string serviceId, LogStreamId stream, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        lock (_lock)
        {
            if (!_items.TryGetValue((serviceId, stream), out var items))
            {
                _items[(serviceId, stream)] = items = [];
            }

            if (records.Any(record => items.ContainsKey(record.Seq)))
            {
                throw new LogStoreConflictException($"Log stream {stream} already has entries at {records[0].Seq}..{records[^1].Seq}: another writer appended first.");
            }

            foreach (var record in records)
            {
                items.Add(record.Seq, record);
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<LogRecord>> ReadAsync(string serviceId, LogStreamId stream, long from, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<LogRecord> found = [];
            if (_items.TryGetValue((serviceId, stream), out var items))
            {
                var list = new List<LogRecord>(Math.Min(maxCount, 1024));
                var keys = items.Keys;
                var start = LowerBound(keys, from);
                for (var i = start; i < keys.Count && list.Count < maxCount; i++)
                {
                    list.Add(items.Values[i]);
                }

                found = list;
            }

            return Task.FromResult(found);
        }
    }

    private static int LowerBound(IList<long> keys, long value)
    {
        int low = 0, high = keys.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (keys[middle] < value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    public Task TrimAsync(string serviceId, LogStreamId stream, long firstToKeep, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_items.TryGetValue((serviceId, stream), out var items))
            {
                while (items.Count > 0 && items.Keys[0] < firstToKeep)
                {
                    items.RemoveAt(0);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<long> DeleteOlderThanAsync(string serviceId, string streamNamespace, DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        var cutoffMs = cutoff.ToUnixTimeMilliseconds();
        long deleted = 0;
        lock (_lock)
        {
            foreach (var ((service, stream), items) in _items)
            {
                if (service != serviceId || stream.Namespace != streamNamespace || items.Count == 0)
                {
                    continue;
                }

                var newest = items.Keys[^1];
                foreach (var old in items.Values.Where(record => record.AppendedAtMs < cutoffMs && record.Seq < newest).ToArray())
                {
                    items.Remove(old.Seq);
                    deleted++;
                }
            }
        }

        return Task.FromResult(deleted);
    }

    public Task<IReadOnlyDictionary<string, long>> ReadCursorsAsync(string serviceId, LogStreamId stream, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyDictionary<string, long> cursors = _cursors.Where(c => c.Key.Item1 == serviceId && c.Key.Item2 == stream)
                .ToDictionary(c => c.Key.Item3, c => c.Value, StringComparer.Ordinal);
            return Task.FromResult(cursors);
        }
    }

    public Task WriteCursorAsync(string serviceId, LogStreamId stream, string consumer, long seq, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _cursors[(serviceId, stream, consumer)] = Math.Max(seq, _cursors.GetValueOrDefault((serviceId, stream, consumer)));
        }

        return Task.CompletedTask;
    }
}
