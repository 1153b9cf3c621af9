using Orleans.Concurrency;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Actors.Extensions.Streams;

/// <summary>
/// Owns one log stream. Appends are numbered in arrival order and written by one flush loop, so the appends that arrive while
/// a write is in flight go out together in the next one (group commit); entries become readable, and appends acknowledged,
/// only once stored, so no reader sees what a crash could take back. The primary key on (stream, position) stops a second
/// activation (Orleans may briefly have two during a membership change) from writing the same positions: the loser retires
/// and its callers retry on the survivor.
/// </summary>
[GrainType("actors.log-stream")]
[Reentrant]
internal sealed partial class LogStreamGrain : Grain, ILogStreamGrain, IRemindable
{
    private const int MaxRecordsPerWrite = 16_384;

    private readonly ILogStore _store;
    private readonly LogStreamOptions _options;
    private readonly string _serviceId;
    private readonly TimeSpan _longestWait;
    private readonly string _host;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly List<PendingAppend> _pending = [];
    private readonly List<PendingAppend> _inFlight = [];
    private LogStreamId _id;
    private LogRecordCache _cache = null!;
    private TaskCompletionSource _stored = NewSignal();
    private long _first = 1;
    private long _last;
    private long _next = 1;
    private long _completionSeq;
    private bool _completed;
    private bool _flushing;
    private bool _retired;
    private volatile bool _deactivating;
    private long _boundsCheckedAt;

    public LogStreamGrain(IServiceProvider services, IOptions<LogStreamOptions> options, IOptions<ClusterOptions> cluster,
        IOptions<SiloMessagingOptions> messaging, ILocalSiloDetails silo, ILogger<LogStreamGrain> logger)
    {
        _store = services.GetService<ILogStore>() ?? throw new InvalidOperationException(
            "No log store is configured on this silo: call UseSqliteLogStore, UsePostgresLogStore or UseMemoryLogStore after AddLogStreams.");
        _options = options.Value;
        _serviceId = cluster.Value.ServiceId;
        // A waiting read must answer well inside the caller's response timeout, or the caller sees a timeout instead of "nothing yet".
        _longestWait = TimeSpan.FromTicks(Math.Min(_options.LiveWait.Ticks, messaging.Value.ResponseTimeout.Ticks / 2));
        _host = silo.SiloAddress.ToString();
        _logger = logger;
        _time = LogStreamsBuilderExtensions.ClockOf(services);
    }

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _id = LogStreamId.Parse(this.GetPrimaryKeyString());
        _cache = new LogRecordCache(_options.CacheSize);
        var bounds = await _store.GetBoundsAsync(_serviceId, _id, cancellationToken);
        _first = bounds.Last == 0 ? 1 : bounds.First;
        _last = bounds.Last;
        _next = _last + 1;
        _completed = bounds.Completed;
        _completionSeq = bounds.Completed ? bounds.Last : 0;
        await LoadImplicitConsumersAsync(cancellationToken);
    }

    /// <summary>
    /// Orleans finishes a deactivation only when no request runs, and a read waiting at the head is a running request: wake the
    /// waiters now, so they answer and their callers ask again (the next activation answers) instead of holding this one.
    /// Called from whichever thread started the deactivation.
    /// </summary>
    internal void OnDeactivating()
    {
        _deactivating = true;
        Volatile.Read(ref _stored).TrySetResult();
    }

    public Task<long> Append(string[] payloads, long expectedFirst)
    {
        ArgumentNullException.ThrowIfNull(payloads);
        ThrowIfRetired();
        if (_completionSeq != 0)
        {
            throw new LogCompletedException($"Log stream {_id} is completed; it takes no more items.");
        }

        if (expectedFirst > 0 && expectedFirst != _next)
        {
            var expectedLast = expectedFirst + payloads.Length - 1;
            if (payloads.Length > 0 && expectedFirst < _next && expectedLast == _next - 1)
            {
                return WhenStoredAsync(expectedLast); // A retry of an append that happened: answer it, do not append twice.
            }

            throw new LogSequenceConflictException(
                $"Log stream {_id}: the append expected to start at {expectedFirst}, but the next position is {_next}.");
        }

        if (payloads.Length == 0)
        {
            return WhenStoredAsync(_next - 1);
        }

        if (Array.IndexOf(payloads, null) >= 0)
        {
            throw new ArgumentException("A log item's payload must not be null.", nameof(payloads));
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

    private Task<long> Enqueue(string?[] payloads)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var records = new LogRecord[payloads.Length];
        for (var i = 0; i < payloads.Length; i++)
        {
            records[i] = new LogRecord(_next + i, now, payloads[i]);
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
        // The loop outlives the append that started it: it must not carry that caller's request context (its call chain).
        RequestContext.Clear();
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

    private List<LogRecord> TakeBatch()
    {
        var records = new List<LogRecord>();
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

    private void Publish(List<LogRecord> records)
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
            LogStreamMetrics.Appended(_id.Namespace, append.StartedAt, append.Records.Length);
        }

        _inFlight.Clear();
        SignalStored();
        OnEntriesStored();
    }

    private void SignalStored()
    {
        var stored = _stored;
        Volatile.Write(ref _stored, NewSignal());
        stored.TrySetResult();
        if (_deactivating)
        {
            _stored.TrySetResult(); // OnDeactivating may have woken the old signal only.
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// A write failed, or may have happened without our knowing: the positions handed out after the last stored entry are
    /// unreliable, so this activation stops and the next one starts from what storage holds.
    /// </summary>
    private void Retire(Exception exception)
    {
        LogStreamLog.Retiring(_logger, exception, _id);
        _retired = true;
        var retry = new LogActivationRetiredException($"Log stream {_id} is moving to a new activation; retry.");
        Exception failure = exception is LogStoreConflictException
            ? retry
            : new InvalidOperationException($"Appending to log stream {_id} failed: {exception.Message}", exception);
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
        OnDeactivating();
        DeactivateOnIdle();
    }

    private void ThrowIfRetired()
    {
        if (_retired)
        {
            throw new LogActivationRetiredException($"Log stream {_id} is moving to a new activation; retry.");
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
        if (_options.RetentionOf(_id.Namespace) is not { MaxCount: { } maxCount })
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
        var firstToKeep = Math.Min(_last - maxCount + 1, OldestUnacknowledged());
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
            LogStreamLog.TrimFailed(_logger, exception, _id, maxCount);
        }
    }

    private sealed class PendingAppend(LogRecord[] records)
    {
        public LogRecord[] Records { get; } = records;

        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long StartedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();
    }
}
