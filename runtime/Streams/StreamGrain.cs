using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actors.Runtime;

/// <summary>The system grain that owns one stream: it numbers appends, stores them, and serves readers.</summary>
internal interface IStreamGrain : IGrainWithStringKey
{
    /// <summary>Stores the payloads as the next items; returns the last one's sequence number. <paramref name="expectedFirst"/> 0 means "wherever".</summary>
    Task<long> Append(string[] payloads, long expectedFirst);

    /// <summary>Stores the completion marker (once); returns its sequence number.</summary>
    Task<long> Complete();

    /// <summary>Stored items from <paramref name="from"/>; at the head of a live stream, waits up to <paramref name="waitMs"/> for new ones.</summary>
    [AlwaysInterleave]
    Task<StreamSlice> Read(long from, int maxCount, int waitMs);

    [AlwaysInterleave]
    Task<StreamInfo> Info();
}

/// <summary>An answer to a read: the records, and the stream's bounds when it was read.</summary>
internal sealed record StreamSlice(StreamRecord[] Records, long First, long Last, bool Completed);

/// <summary>
/// Appends are numbered in arrival order and written by one flush loop, so the appends that arrive while a write is in
/// flight go out together in the next one (group commit), and items become readable only once stored: a reader can never
/// see an item that a crash could take back. The primary key on (stream, seq) stops a second activation during a
/// membership change from writing the same numbers: the loser retires and its callers retry on the new owner.
/// </summary>
[GrainType("actors.stream")]
[Reentrant]
internal sealed partial class StreamGrain : Grain, IStreamGrain, IRemindable
{
    private const int MaxRecordsPerWrite = 16_384;

    private readonly IStreamStore _store;
    private readonly StreamOptions _options;
    private readonly string _serviceId;
    private readonly int _longestWaitMs;
    private readonly LocalSiloDetails _silo;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly List<PendingAppend> _pending = [];
    private readonly List<PendingAppend> _inFlight = [];
    private StreamId _id;
    private StreamRecordCache _cache = null!;
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _first = 1;
    private long _last;
    private long _next = 1;
    private long _completionSeq;
    private bool _completed;
    private bool _flushing;
    private bool _retired;
    private long _boundsCheckedAt;

    public StreamGrain(IServiceProvider services, IOptions<StreamOptions> options, IOptions<ActorRuntimeOptions> runtimeOptions,
        LocalSiloDetails silo, ILogger<StreamGrain> logger)
    {
        _store = services.GetService<IStreamStore>() ?? throw new InvalidOperationException(
            "No stream storage is configured on this silo: call UseSqliteStreams, UsePostgresStreams or UseMemoryStreams on the silo builder.");
        _options = options.Value;
        _serviceId = runtimeOptions.Value.ServiceId;
        _longestWaitMs = (int)Math.Min(20_000, runtimeOptions.Value.ResponseTimeout.TotalMilliseconds / 2);
        _silo = silo;
        _logger = logger;
        _time = services.GetService<TimeProvider>() ?? TimeProvider.System;
    }

    public static string KeyOf(StreamId stream) => $"{stream.Namespace}/{stream.Key}";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = GetPrimaryKeyString();
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        _id = new StreamId(key[..slash], key[(slash + 1)..]);
        _cache = new StreamRecordCache(_options.CacheSize);
        var bounds = await _store.GetBoundsAsync(_serviceId, _id, cancellationToken);
        _first = bounds.Last == 0 ? 1 : bounds.First;
        _last = bounds.Last;
        _next = _last + 1;
        _completed = bounds.Completed;
        _completionSeq = bounds.Completed ? bounds.Last : 0;
        await LoadImplicitConsumersAsync(cancellationToken);
    }

    internal override void OnDeactivationStarted()
    {
        // Readers waiting at the head must go now, to ask the next activation, instead of holding this one for their wait.
        _retired = true;
        var retry = new StreamActivationRetiredException($"Stream {_id} is moving to a new activation; retry.");
        foreach (var append in _pending)
        {
            append.Completion.TrySetException(retry);
        }

        _pending.Clear();
        _appended.TrySetResult();
    }

    public Task<long> Append(string[] payloads, long expectedFirst)
    {
        ThrowIfRetired();
        if (_completionSeq != 0)
        {
            throw new StreamCompletedException($"Stream {_id} is completed; it takes no more items.");
        }

        if (expectedFirst > 0 && expectedFirst != _next)
        {
            var expectedLast = expectedFirst + payloads.Length - 1;
            if (payloads.Length > 0 && expectedFirst < _next && expectedLast == _next - 1)
            {
                return WhenStoredAsync(expectedLast); // A retry of an append that happened: answer it, do not append twice.
            }

            throw new StreamSequenceConflictException(
                $"Stream {_id}: the append expected to start at {expectedFirst}, but the next position is {_next}.");
        }

        if (payloads.Length == 0)
        {
            return WhenStoredAsync(_next - 1);
        }

        if (Array.IndexOf(payloads, null) >= 0)
        {
            throw new ArgumentException("A stream item's payload must not be null.", nameof(payloads));
        }

        return Enqueue(payloads);
    }

    public Task<long> Complete()
    {
        ThrowIfRetired();
        if (_completionSeq != 0)
        {
            return WhenStoredAsync(_completionSeq);
        }

        var appended = Enqueue([null]);
        _completionSeq = _next - 1;
        return appended;
    }

    public async Task<StreamSlice> Read(long from, int maxCount, int waitMs)
    {
        from = Math.Max(from, 1);
        maxCount = Math.Clamp(maxCount, 1, _options.MaxReadBatch);
        if (from > _last && !_completed && waitMs > 0 && !_retired)
        {
            // Ended by the next stored write or by deactivation; the delay bounds the wait below the call timeout, and is
            // cancelled when not needed, so a busy stream does not pile up timers.
            using var waited = new CancellationTokenSource();
            var woken = _appended.Task;
            await Task.WhenAny(woken, Task.Delay(Math.Min(waitMs, _longestWaitMs), waited.Token));
            waited.Cancel();
            if (!woken.IsCompleted && !_retired)
            {
                await CatchUpWithStorageAsync();
            }
        }

        if (from > _last)
        {
            return new StreamSlice([], _first, _last, _completed);
        }

        var records = await RecordsAsync(from, maxCount);
        // Nothing stored from there on although the stream goes further: retention deleted it. Say where the stream
        // resumes, so the reader moves on instead of asking again for what is gone.
        return new StreamSlice(records, records.Length == 0 ? Math.Max(_first, _last + 1) : _first, _last, _completed);
    }

    /// <summary>Another activation's write may have landed after ours read its bounds: adopt it, or retire if we are writing.</summary>
    private async Task CatchUpWithStorageAsync()
    {
        var now = Environment.TickCount64;
        if (now - _boundsCheckedAt < _options.LiveWait.TotalMilliseconds / 2)
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
            Retire(new StreamConflictException($"Stream {_id}: storage holds items up to {bounds.Last}, past this activation's {_last}."));
            return;
        }

        _last = bounds.Last;
        _next = _last + 1;
        _completed = bounds.Completed;
        _completionSeq = bounds.Completed ? bounds.Last : 0;
        var appended = _appended;
        _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appended.TrySetResult();
        OnItemsStored();
    }

    // The completion marker takes a position of its own, but it is not an item: Last names the last item.
    public Task<StreamInfo> Info() =>
        Task.FromResult(new StreamInfo(_id, _first, _completed ? _last - 1 : _last, _completed, _silo.Name));

    private async Task<StreamRecord[]> RecordsAsync(long from, int maxCount)
    {
        var expiredBefore = AgeCutoffMs();
        while (true)
        {
            StreamRecord[] records;
            if (!_cache.TryGet(from, maxCount, _last, out records))
            {
                var stored = await _store.ReadAsync(_serviceId, _id, from, maxCount, CancellationToken.None);
                var last = _last;
                records = stored.Where(record => record.Seq <= last).ToArray();
            }

            // Items past their namespace's age may still be cached (or not yet swept): they are gone all the same.
            // Append times only grow, so the expired ones are a prefix.
            var expired = 0;
            while (expired < records.Length && records[expired].AppendedAtMs < expiredBefore && !records[expired].IsCompletion)
            {
                expired++;
            }

            if (expired == 0 || expired < records.Length || records.Length == 0 || records[^1].Seq >= _last)
            {
                return expired == 0 ? records : records[expired..];
            }

            from = records[^1].Seq + 1;
        }
    }

    private long AgeCutoffMs() =>
        _options.Retention.TryGetValue(_id.Namespace, out var retention) && retention.MaxAge is { } maxAge
            ? (_time.GetUtcNow() - maxAge).ToUnixTimeMilliseconds()
            : long.MinValue;

    private Task<long> Enqueue(string?[] payloads)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var records = new StreamRecord[payloads.Length];
        for (var i = 0; i < payloads.Length; i++)
        {
            records[i] = new StreamRecord(_next + i, now, payloads[i]);
        }

        _next += payloads.Length;
        var pending = new PendingAppend(records);
        _pending.Add(pending);
        if (!_flushing)
        {
            _flushing = true;
            _ = FlushAsync();
        }

        return pending.Completion.Task;
    }

    private async Task FlushAsync()
    {
        // The loop outlives the append that started it: it must not carry that caller's chain (a false deadlock otherwise).
        CallChainNode.Current = null;
        try
        {
            while (_pending.Count > 0 && !_retired)
            {
                var records = TakeBatch();
                try
                {
                    await _store.AppendAsync(_serviceId, _id, records, CancellationToken.None);
                }
                catch (Exception exception)
                {
                    Retire(exception);
                    return;
                }

                Publish(records);
                await EnforceCountRetentionAsync();
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    private List<StreamRecord> TakeBatch()
    {
        var records = new List<StreamRecord>();
        var taken = 0;
        while (taken < _pending.Count && (records.Count == 0 || records.Count + _pending[taken].Records.Length <= MaxRecordsPerWrite))
        {
            records.AddRange(_pending[taken].Records);
            _inFlight.Add(_pending[taken]);
            taken++;
        }

        _pending.RemoveRange(0, taken);
        return records;
    }

    private void Publish(List<StreamRecord> records)
    {
        foreach (var record in records)
        {
            _cache.Add(record);
        }

        _last = records[^1].Seq;
        _completed |= records[^1].IsCompletion;
        foreach (var append in _inFlight)
        {
            append.Completion.TrySetResult(append.Records[^1].Seq);
        }

        _inFlight.Clear();
        var appended = _appended;
        _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        appended.TrySetResult();
        OnItemsStored();
    }

    /// <summary>
    /// A write failed, or may have happened without our knowing: the numbers handed out after the last stored item are
    /// unreliable, so this activation stops and the next one starts from what storage holds.
    /// </summary>
    private void Retire(Exception exception)
    {
        _logger.LogWarning(exception, "Appending to stream {Stream} failed; the activation retires and callers retry on the next one", _id);
        _retired = true;
        var retry = new StreamActivationRetiredException($"Stream {_id} is moving to a new activation; retry.");
        Exception failure = exception is StreamConflictException
            ? retry
            : new InvalidOperationException($"Appending to stream {_id} failed: {exception.Message}", exception);
        foreach (var append in _inFlight)
        {
            append.Completion.TrySetException(failure);
        }

        foreach (var append in _pending)
        {
            append.Completion.TrySetException(retry);
        }

        _inFlight.Clear();
        _pending.Clear();
        _appended.TrySetResult();
        DeactivateOnIdle();
    }

    private void ThrowIfRetired()
    {
        if (_retired)
        {
            throw new StreamActivationRetiredException($"Stream {_id} is moving to a new activation; retry.");
        }
    }

    private async Task<long> WhenStoredAsync(long seq)
    {
        if (seq <= _last)
        {
            return seq;
        }

        var append = _inFlight.Concat(_pending).First(candidate => candidate.Records[^1].Seq >= seq);
        await append.Completion.Task;
        return seq;
    }

    private async Task EnforceCountRetentionAsync()
    {
        if (!_options.Retention.TryGetValue(_id.Namespace, out var retention) || retention.MaxCount is not { } maxCount)
        {
            return;
        }

        // Trim in steps (a tenth of the limit) rather than on every write.
        var slack = Math.Max(1, maxCount / 10);
        if (_last - _first + 1 <= maxCount + slack)
        {
            return;
        }

        // Never past what an implicit consumer has yet to acknowledge: delivery to it is at least once.
        var firstToKeep = _last - maxCount + 1;
        foreach (var consumer in _consumers)
        {
            firstToKeep = Math.Min(firstToKeep, _cursors[consumer] + 1);
        }

        if (firstToKeep <= _first)
        {
            return;
        }

        try
        {
            await _store.TrimAsync(_serviceId, _id, firstToKeep, CancellationToken.None);
            _first = firstToKeep;
            _cache.DropBefore(firstToKeep);
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Trimming stream {Stream} to its newest {Count} items failed; the next write retries", _id, maxCount);
        }
    }

    private sealed class PendingAppend(StreamRecord[] records)
    {
        public StreamRecord[] Records { get; } = records;

        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The stream's activation stopped taking appends (it is moving or lost a write race); nothing was appended, so a retry is safe.</summary>
internal sealed class StreamActivationRetiredException(string message) : Exception(message);
