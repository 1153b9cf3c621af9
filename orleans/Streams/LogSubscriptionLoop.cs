using System.Threading.Channels;

namespace Actors.Extensions.Streams;

/// <summary>
/// One subscriber's pull loops. The fetch loop reads from the log grain at the subscriber's own position (long-polling at the
/// head) while fewer than SubscriberBuffer items are held; the delivery loop hands them to the observer. A slow observer
/// therefore only stops the reading: the producer never waits for a subscriber, memory stays bounded, and the subscriber
/// catches up later from the stream's cache or storage. The position moves only past what was fetched, and a failed read
/// is retried from the same position, so a silo dying on either side loses and repeats nothing.
/// </summary>
internal sealed class LogSubscriptionLoop<T> : LogSubscription
{
    private static readonly TimeSpan AnswerGrace = TimeSpan.FromSeconds(3);

    private readonly LogStream<T> _stream;
    private readonly ILogObserver<T> _observer;
    private readonly Func<Func<Task>, CancellationToken, Task>? _onActivationTurn;
    private readonly int _bufferLimit;
    private readonly Channel<LogRecord> _fetched = Channel.CreateUnbounded<LogRecord>(new() { SingleReader = true, SingleWriter = true });
    private readonly SemaphoreSlim _spaceFreed = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastDelivered;
    private int _held;
    private int _peakHeld;

    private LogSubscriptionLoop(LogStream<T> stream, ILogObserver<T> observer, Func<Func<Task>, CancellationToken, Task>? onActivationTurn)
    {
        _stream = stream;
        _observer = observer;
        _onActivationTurn = onActivationTurn;
        _bufferLimit = stream.Options.SubscriberBuffer;
    }

    /// <param name="activation">The subscribing grain's activation (deliveries take its turns, and end with it), or null.</param>
    public static LogSubscriptionLoop<T> Start(LogStream<T> stream, ILogObserver<T> observer, long from, IGrainContext? activation)
    {
        var subscription = new LogSubscriptionLoop<T>(stream, observer, activation is null ? null : LogDeliveryExtension.InstallOn(activation));
        _ = Task.Run(() => subscription.FetchAsync(from));
        _ = Task.Run(subscription.DeliverAsync);
        activation?.Deactivated.ContinueWith(_ => subscription.Stop(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return subscription;
    }

    public override LogStreamId StreamId => _stream.Id;

    public override LogPosition? LastDelivered => Interlocked.Read(ref _lastDelivered) is var last and > 0 ? new LogPosition(last) : null;

    public override Task Completion => _completion.Task;

    /// <summary>Items fetched and not yet taken by the observer; never more than SubscriberBuffer.</summary>
    internal int HeldCount => Volatile.Read(ref _held);

    /// <summary>The most items this subscription ever held at once.</summary>
    internal int PeakHeldCount => Volatile.Read(ref _peakHeld);

    public override ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private void Stop()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _completion.TrySetResult();
    }

    private async Task FetchAsync(long position)
    {
        var waitMs = (int)_stream.Options.LiveWait.TotalMilliseconds;
        var backoff = TimeSpan.FromMilliseconds(20);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                while (Volatile.Read(ref _held) >= _bufferLimit)
                {
                    await _spaceFreed.WaitAsync(_stop.Token);
                }

                var room = Math.Min(_stream.Options.MaxReadBatch, _bufferLimit - Volatile.Read(ref _held));
                LogSlice slice;
                try
                {
                    // An answer comes within the wait; one that does not is lost with a dead silo, so stop waiting for it
                    // (rather than for the whole response timeout) and ask again: the next activation answers.
                    using var abandon = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    abandon.CancelAfter(_stream.Options.LiveWait + AnswerGrace);
                    slice = await _stream.Grain.Read(position, room, waitMs, abandon.Token);
                    backoff = TimeSpan.FromMilliseconds(20);
                }
                catch (Exception exception) when (!_stop.IsCancellationRequested)
                {
                    // The stream's silo died or the call timed out: ask again from the same position until someone answers.
                    LogStreamLog.SubscriberReadFailed(_stream.Logger, exception, _stream.Id, position);
                    await Task.Delay(backoff, _stop.Token);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
                    continue;
                }

                if (slice.Records.Length == 0 && position < slice.First)
                {
                    position = slice.First; // Retention deleted what came next: go on from what is left.
                }

                var fresh = slice.Records.Where(record => record.Seq >= position).ToArray();
                if (fresh.Length > 0)
                {
                    Hold(fresh.Length);
                    foreach (var record in fresh)
                    {
                        _fetched.Writer.TryWrite(record);
                    }

                    position = fresh[^1].Seq + 1;
                    if (fresh[^1].IsCompletion)
                    {
                        break;
                    }
                }
                else if (slice.Completed && position > slice.Last)
                {
                    // Subscribed past the end of a completed stream: nothing more will come.
                    Hold(1);
                    _fetched.Writer.TryWrite(new LogRecord(slice.Last, 0, null));
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }

        _fetched.Writer.TryComplete();
    }

    private void Hold(int count)
    {
        var held = Interlocked.Add(ref _held, count);
        int peak;
        while (held > (peak = Volatile.Read(ref _peakHeld)) && Interlocked.CompareExchange(ref _peakHeld, held, peak) != peak)
        {
        }
    }

    private async Task DeliverAsync()
    {
        var items = new List<LogItem<T>>();
        try
        {
            while (await _fetched.Reader.WaitToReadAsync(_stop.Token))
            {
                items.Clear();
                var taken = 0;
                var completed = false;
                while (items.Count < _stream.Options.MaxReadBatch && _fetched.Reader.TryRead(out var record))
                {
                    taken++;
                    if (record.IsCompletion)
                    {
                        completed = true;
                        break;
                    }

                    items.Add(LogJson.ToItem<T>(record));
                }

                if (items.Count > 0)
                {
                    var delivered = items.ToArray();
                    await RunAsObserverAsync(() => _observer.OnNextBatchAsync(delivered));
                    Interlocked.Exchange(ref _lastDelivered, delivered[^1].Position.SequenceNumber);
                }

                Interlocked.Add(ref _held, -taken);
                _spaceFreed.Release();
                if (completed)
                {
                    await RunAsObserverAsync(_observer.OnCompletedAsync);
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            // The observer threw, or an item does not deserialize into T: the subscription cannot go on without skipping it.
            try
            {
                await RunAsObserverAsync(() => _observer.OnErrorAsync(exception));
            }
            catch (Exception)
            {
                // The observer's error handler failing changes nothing: the subscription ends either way.
            }

            _stop.Cancel();
            _completion.TrySetException(exception);
            return;
        }

        _stop.Cancel();
        _completion.TrySetResult();
    }

    private Task RunAsObserverAsync(Func<Task> call) => _onActivationTurn is null ? call() : _onActivationTurn(call, _stop.Token);
}
