using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Api.Edge;

/// <summary>
/// A bounded map that, when full, lets go of the entries used longest ago: one at a time, so a flood of new keys
/// pushes out only what nobody asked for lately instead of emptying the cache. Each entry weighs something (1 for a
/// count bound; bytes for the file cache), and the total stays within <see cref="Capacity"/>. One lock: every
/// operation is a dictionary lookup and a list splice, far below the cost of anything the edge would do instead.
/// With a <paramref name="metricsName"/>, its figures are reported as <c>clouddeck.edge.cache.*</c> until disposed.
/// </summary>
public sealed class LruCache<TKey, TValue>(long capacity, string? metricsName = null) : IDisposable where TKey : notnull
{
    private sealed class Node(TKey key, TValue value, long weight)
    {
        public readonly TKey Key = key;
        public TValue Value = value;
        public long Weight = weight;
    }

    private readonly Dictionary<TKey, LinkedListNode<Node>> _nodes = [];
    private readonly LinkedList<Node> _order = new(); // most recently used first
    private readonly Lock _gate = new();
    private long _weight;
    private long _hits;
    private long _misses;
    private long _evictions;

    private IDisposable? _metrics;

    public long Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), "must be positive");

    public int Count
    {
        get
        {
            lock (_gate) return _nodes.Count;
        }
    }

    /// <summary>Starts reporting this cache's figures (once; a cache without a metrics name reports nothing).</summary>
    public LruCache<TKey, TValue> Observed()
    {
        if (metricsName is not null) _metrics ??= CloudDeckMetrics.ObserveEdgeCache(metricsName, Figures);
        return this;
    }

    public void Dispose() => _metrics?.Dispose();

    /// <summary>The value, marked as just used; counted as a hit or a miss.</summary>
    public bool TryGet(TKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_nodes.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                _hits++;
                value = node.Value.Value;
                return true;
            }

            _misses++;
        }

        value = default!;
        return false;
    }

    /// <summary>Whether the key is present, without marking it used or counting a lookup.</summary>
    public bool Contains(TKey key)
    {
        lock (_gate) return _nodes.ContainsKey(key);
    }

    /// <summary>Adds or replaces the value (as just used), then lets go of the least recently used until within capacity.</summary>
    public void Set(TKey key, TValue value, long weight = 1) => AddOrUpdate(key, value, (_, added) => added, weight);

    /// <summary>
    /// The value now stored for <paramref name="key"/>: <paramref name="value"/> if there was none, else what
    /// <paramref name="update"/> makes of the present one and <paramref name="value"/> (under the lock, so atomic).
    /// </summary>
    public TValue AddOrUpdate(TKey key, TValue value, Func<TValue, TValue, TValue> update, long weight = 1)
    {
        lock (_gate)
        {
            if (_nodes.TryGetValue(key, out var node))
            {
                node.Value.Value = update(node.Value.Value, value);
                _weight += weight - node.Value.Weight;
                node.Value.Weight = weight;
                _order.Remove(node);
                _order.AddFirst(node);
            }
            else
            {
                node = _order.AddFirst(new Node(key, value, weight));
                _nodes.Add(key, node);
                _weight += weight;
            }

            EvictBeyondCapacity();
            return node.Value.Value;
        }
    }

    /// <summary>The present value if there is one (marked used), else adds <paramref name="value"/>.</summary>
    public TValue GetOrAdd(TKey key, TValue value, long weight = 1) => AddOrUpdate(key, value, (present, _) => present, weight);

    /// <summary>Adds to a present entry's weight (a compressed form made later); nothing if the entry is gone.</summary>
    public void AddWeight(TKey key, long weight)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue(key, out var node)) return;
            node.Value.Weight += weight;
            _weight += weight;
            EvictBeyondCapacity();
        }
    }

    public bool Remove(TKey key)
    {
        lock (_gate)
        {
            if (!_nodes.Remove(key, out var node)) return false;
            _order.Remove(node);
            _weight -= node.Value.Weight;
            return true;
        }
    }

    /// <summary>Removes the entry only while it still holds <paramref name="value"/> (a newer one is left alone).</summary>
    public bool Remove(TKey key, TValue value)
    {
        lock (_gate)
        {
            if (!_nodes.TryGetValue(key, out var node) || !EqualityComparer<TValue>.Default.Equals(node.Value.Value, value)) return false;
            _nodes.Remove(key);
            _order.Remove(node);
            _weight -= node.Value.Weight;
            return true;
        }
    }

    /// <summary>Empties the cache: only for when its entries can no longer be trusted, never to make room.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _nodes.Clear();
            _order.Clear();
            _weight = 0;
        }
    }

    /// <summary>Size (total weight), limit and counts since start, for the edge's cache metrics.</summary>
    public EdgeCacheFigures Figures()
    {
        lock (_gate) return new EdgeCacheFigures(_weight, Capacity, _hits, _misses, _evictions);
    }

    private void EvictBeyondCapacity()
    {
        // The entry just used is first in the list and is kept even if it alone is over the limit.
        while (_weight > Capacity && _order.Last is { } last && last != _order.First)
        {
            _order.RemoveLast();
            _nodes.Remove(last.Value.Key);
            _weight -= last.Value.Weight;
            _evictions++;
        }
    }
}
