namespace Actors.Extensions.Streams;

/// <summary>The read side: the cache, storage, expired items hidden, and the long poll at the head.</summary>
internal sealed partial class LogStreamGrain
{
    public async Task<LogSlice> Read(long from, int maxCount, int waitMs, CancellationToken cancellationToken)
    {
        from = Math.Max(from, 1);
        maxCount = Math.Clamp(maxCount, 1, _options.MaxReadBatch);
        if (from > _last && !_completed && waitMs > 0)
        {
            var stored = _stored.Task;
            if (!_deactivating && !_retired)
            {
                // Ended by the next stored write, by deactivation, or by the bound; the delay is cancelled when not needed,
                // so a busy stream does not pile up timers.
                using var waited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var bound = TimeSpan.FromMilliseconds(Math.Min(waitMs, _longestWait.TotalMilliseconds));
                await Task.WhenAny(stored, Task.Delay(bound, waited.Token));
                await waited.CancelAsync();
                if (!stored.IsCompleted && !cancellationToken.IsCancellationRequested)
                {
                    await CatchUpWithStorageAsync();
                }
            }
        }

        if (from > _last)
        {
            return new LogSlice([], _first, _last, _completed);
        }

        var records = await RecordsAsync(from, maxCount);
        // Nothing stored from there although the stream goes further: retention deleted it. Say where the stream resumes,
        // so the reader moves on instead of asking again for what is gone.
        return new LogSlice(records, records.Length == 0 ? Math.Max(_first, _last + 1) : _first, _last, _completed);
    }

    // The completion marker takes a position of its own, but it is not an item: Last names the last item.
    public Task<LogStreamInfo> Info() =>
        Task.FromResult(new LogStreamInfo(_id, _first, _completed ? _last - 1 : _last, _completed, _host));

    /// <summary>Another activation's write may have landed after ours read its bounds: adopt it, or retire if we are writing.</summary>
    private async Task CatchUpWithStorageAsync()
    {
        var now = Environment.TickCount64;
        if (now - _boundsCheckedAt < _options.LiveWait.TotalMilliseconds / 2 || _deactivating || _retired)
        {
            return;
        }

        _boundsCheckedAt = now;
        var bounds = await _store.GetBoundsAsync(_serviceId, _id, CancellationToken.None);
        if (_retired || bounds.Last <= _last)
        {
            return;
        }

        if (_flushing || _pending.Count > 0)
        {
            Retire(new LogStoreConflictException($"Log stream {_id}: storage holds entries up to {bounds.Last}, past this activation's {_last}."));
            return;
        }

        _last = bounds.Last;
        _next = _last + 1;
        _completed = bounds.Completed;
        _completionSeq = bounds.Completed ? bounds.Last : 0;
        SignalStored();
        OnEntriesStored();
    }

    private async Task<LogRecord[]> RecordsAsync(long from, int maxCount)
    {
        var expiredBefore = AgeCutoffMs();
        while (true)
        {
            if (!_cache.TryGet(from, maxCount, _last, out var records))
            {
                var stored = await _store.ReadAsync(_serviceId, _id, from, maxCount, CancellationToken.None);
                var last = _last;
                records = stored.Where(record => record.Seq <= last).ToArray();
            }

            // Entries past their namespace's age may still be cached (or not yet swept): they are gone all the same.
            // Append times only grow, so the expired ones are a prefix.
            var expired = 0;
            while (expired < records.Length && records[expired].AppendedAtMs < expiredBefore && !records[expired].IsCompletion)
            {
                expired++;
            }

            if (expired == 0 || expired < records.Length || records[^1].Seq >= _last)
            {
                return expired == 0 ? records : records[expired..];
            }

            from = records[^1].Seq + 1;
        }
    }

    private long AgeCutoffMs() =>
        _options.RetentionOf(_id.Namespace) is { MaxAge: { } maxAge }
            ? (_time.GetUtcNow() - maxAge).ToUnixTimeMilliseconds()
            : long.MinValue;
}
