namespace Actors.Extensions.Streams;

/// <summary>The most recent stored entries of one stream, contiguous by position, in a fixed-size ring.</summary>
internal sealed class LogRecordCache
{
    private readonly LogRecord?[] _ring;
    private long _first = 1;
    private int _count;

    public LogRecordCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new LogRecord?[capacity];
    }

    public void Add(LogRecord record)
    {
        if (_count > 0 && record.Seq != _first + _count)
        {
            _count = 0; // Not contiguous (another writer's entries in between): start over rather than serve a gap.
        }

        if (_count == 0)
        {
            _first = record.Seq;
        }

        _ring[(int)(record.Seq % _ring.Length)] = record;
        if (_count == _ring.Length)
        {
            _first++;
        }
        else
        {
            _count++;
        }
    }

    /// <summary>Up to <paramref name="maxCount"/> entries from <paramref name="from"/> (not past <paramref name="last"/>), if the ring holds <paramref name="from"/>.</summary>
    public bool TryGet(long from, int maxCount, long last, out LogRecord[] records)
    {
        var cachedLast = _first + _count - 1;
        if (_count == 0 || from < _first || from > cachedLast)
        {
            records = [];
            return false;
        }

        var end = Math.Min(Math.Min(cachedLast, last), from + maxCount - 1);
        records = new LogRecord[Math.Max(0, end - from + 1)];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = _ring[(int)((from + i) % _ring.Length)]!;
        }

        return true;
    }

    /// <summary>Forgets entries before <paramref name="seq"/> (retention deleted them).</summary>
    public void DropBefore(long seq)
    {
        if (_count == 0 || seq <= _first)
        {
            return;
        }

        var drop = (int)Math.Min(_count, seq - _first);
        _first += drop;
        _count -= drop;
    }
}
