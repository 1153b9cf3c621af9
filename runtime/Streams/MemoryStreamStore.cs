namespace Actors.Runtime;

/// <summary>Streams in process memory: for tests and benchmarks that need no durability. Nothing survives the process.</summary>
public sealed class MemoryStreamStore : IStreamStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string, StreamId), SortedList<long, StreamRecord>> _items = [];
    private readonly Dictionary<(string, StreamId, string), long> _cursors = [];

    public Task<StreamBounds> GetBoundsAsync(string serviceId, StreamId stream, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_items.TryGetValue((serviceId, stream), out var items) && items.Count > 0
                ? new StreamBounds(items.Keys[0], items.Keys[^1], items.Values[^1].IsCompletion)
                : default);
        }
    }

    public Task AppendAsync(string serviceId, StreamId stream, IReadOnlyList<StreamRecord> records, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_items.TryGetValue((serviceId, stream), out var items))
            {
                _items[(serviceId, stream)] = items = [];
            }

            if (records.Any(record => items.ContainsKey(record.Seq)))
            {
                throw new StreamConflictException($"Stream {stream} already has items at {records[0].Seq}..{records[^1].Seq}: another writer appended first.");
            }

            foreach (var record in records)
            {
                items.Add(record.Seq, record);
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StreamRecord>> ReadAsync(string serviceId, StreamId stream, long from, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<StreamRecord> found = _items.TryGetValue((serviceId, stream), out var items)
                ? items.Values.Where(record => record.Seq >= from).Take(maxCount).ToArray()
                : [];
            return Task.FromResult(found);
        }
    }

    public Task TrimAsync(string serviceId, StreamId stream, long firstToKeep, CancellationToken cancellationToken)
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
                if (service != serviceId || stream.Namespace != streamNamespace)
                {
                    continue;
                }

                foreach (var old in items.Values.Where(record => record.AppendedAtMs < cutoffMs && record.Seq < items.Keys[^1]).ToArray())
                {
                    items.Remove(old.Seq);
                    deleted++;
                }
            }
        }

        return Task.FromResult(deleted);
    }

    public Task<IReadOnlyDictionary<string, long>> ReadCursorsAsync(string serviceId, StreamId stream, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyDictionary<string, long> cursors = _cursors.Where(c => c.Key.Item1 == serviceId && c.Key.Item2 == stream)
                .ToDictionary(c => c.Key.Item3, c => c.Value, StringComparer.Ordinal);
            return Task.FromResult(cursors);
        }
    }

    public Task WriteCursorAsync(string serviceId, StreamId stream, string consumer, long seq, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _cursors[(serviceId, stream, consumer)] = Math.Max(seq, _cursors.GetValueOrDefault((serviceId, stream, consumer)));
        }

        return Task.CompletedTask;
    }
}
