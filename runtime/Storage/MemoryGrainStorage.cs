namespace Actors.Runtime;

/// <summary>Grain storage in process memory, with the same etag rules as the databases. For tests and benchmarks.</summary>
public sealed class MemoryGrainStorage : IGrainStorage
{
    private readonly Dictionary<GrainStateKey, (string? Payload, long Version)> _rows = [];
    private readonly Lock _lock = new();

    public Task<GrainStateRecord?> ReadAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_rows.TryGetValue(key, out var row) ? new GrainStateRecord(row.Payload, Etags.Format(row.Version)) : null);
        }
    }

    public Task<string> WriteAsync(GrainStateKey key, string payload, string? etag, CancellationToken cancellationToken) =>
        Task.FromResult(Swap(key, payload, etag)!);

    public Task<string?> ClearAsync(GrainStateKey key, string? etag, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(etag is null && !_rows.ContainsKey(key) ? null : Swap(key, null, etag));
        }
    }

    private string? Swap(GrainStateKey key, string? payload, string? etag)
    {
        var expected = Etags.Parse(etag, key);
        lock (_lock)
        {
            var exists = _rows.TryGetValue(key, out var row);
            if (exists ? row.Version != expected : expected is not null)
            {
                throw Etags.Stale(key, etag, exists ? Etags.Format(row.Version) : null);
            }

            var version = exists ? row.Version + 1 : 1;
            _rows[key] = (payload, version);
            return Etags.Format(version);
        }
    }
}
