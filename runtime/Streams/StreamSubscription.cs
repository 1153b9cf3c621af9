using System.Text.Json;
using System.Threading.Channels;

namespace Actors.Runtime;

/// <summary>
/// One subscriber's reader. A fetch loop reads from the stream grain at the subscriber's own position (long-polling at the
/// head) into a bounded buffer; a delivery loop hands the buffer to the observer. When the observer is slow the buffer fills
/// and the fetch loop simply stops reading: the producer never waits for a subscriber, memory stays bounded, and the
/// subscriber later catches up from the stream's cache or storage. The position advances only past delivered items, and a
/// failed read is retried from the same position, so a silo dying on either side loses and repeats nothing.
/// </summary>
internal sealed class StreamSubscription<T> : StreamSubscriptionHandle, IDisposable
{
    private readonly AsyncStream<T> _stream;
    private readonly IStreamGrain _grain;
    private readonly IAsyncObserver<T> _observer;
    private readonly StreamOptions _options;
    private readonly ActivationData? _activation;
    private readonly Channel<StreamRecord> _buffer;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastDelivered;

    private StreamSubscription(AsyncStream<T> stream, IStreamGrain grain, IAsyncObserver<T> observer, StreamOptions options, ActivationData? activation)
    {
        _stream = stream;
        _grain = grain;
        _observer = observer;
        _options = options;
        _activation = activation;
        _buffer = Channel.CreateBounded<StreamRecord>(new BoundedChannelOptions(options.SubscriberBuffer)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public static StreamSubscription<T> Start(AsyncStream<T> stream, IStreamGrain grain, IAsyncObserver<T> observer, long from,
        StreamOptions options, JsonSerializerOptions json)
    {
        // Made inside a grain: deliveries take the grain's turns and the subscription ends with the activation.
        var activation = SynchronizationContext.Current as ActivationData;
        var subscription = new StreamSubscription<T>(stream, grain, observer, options, activation);
        activation?.AddTimer(subscription);
        _ = Task.Run(() => subscription.FetchAsync(from));
        _ = Task.Run(subscription.DeliverAsync);
        return subscription;
    }

    public override StreamId StreamId => _stream.Id;

    public override StreamSequenceToken? LastDelivered =>
        Interlocked.Read(ref _lastDelivered) is var last and > 0 ? new StreamSequenceToken(last) : null;

    public override Task Completion => _completion.Task;

    public override ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _completion.TrySetResult();
        ForgetActivation();
    }

    private void ForgetActivation()
    {
        if (_activation is not { } activation)
        {
            return;
        }

        if (SynchronizationContext.Current == activation)
        {
            activation.RemoveTimer(this);
        }
        else
        {
            activation.Schedule(() => activation.RemoveTimer(this));
        }
    }

    private async Task FetchAsync(long position)
    {
        var waitMs = (int)_options.LiveWait.TotalMilliseconds;
        var batch = Math.Min(_options.MaxReadBatch, _options.SubscriberBuffer);
        var backoff = TimeSpan.FromMilliseconds(20);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                StreamSlice slice;
                try
                {
                    slice = await _grain.Read(position, batch, waitMs);
                    backoff = TimeSpan.FromMilliseconds(20);
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
                {
                    // The stream's silo died or the call timed out: ask again from the same position, until someone answers.
                    await Task.Delay(backoff, _stop.Token);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
                    continue;
                }

                if (slice.Records.Length == 0 && position < slice.First)
                {
                    position = slice.First; // Retention deleted what came next: go on from what is left.
                }

                foreach (var record in slice.Records)
                {
                    if (record.Seq < position)
                    {
                        continue;
                    }

                    await _buffer.Writer.WriteAsync(record, _stop.Token);
                    position = record.Seq + 1;
                    if (record.IsCompletion)
                    {
                        _buffer.Writer.TryComplete();
                        return;
                    }
                }

                if (slice.Records.Length == 0 && slice.Completed && position > slice.Last)
                {
                    // Subscribed past the end of a completed stream: nothing more will come.
                    await _buffer.Writer.WriteAsync(new StreamRecord(slice.Last, 0, null), _stop.Token);
                    _buffer.Writer.TryComplete();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }

        _buffer.Writer.TryComplete();
    }

    private async Task DeliverAsync()
    {
        var items = new List<StreamItem<T>>();
        try
        {
            while (await _buffer.Reader.WaitToReadAsync(_stop.Token))
            {
                items.Clear();
                var completed = false;
                while (items.Count < _options.MaxReadBatch && _buffer.Reader.TryRead(out var record))
                {
                    if (record.IsCompletion)
                    {
                        completed = true;
                        break;
                    }

                    items.Add(_stream.Deserialize(record));
                }

                if (items.Count > 0)
                {
                    var delivered = items.ToArray();
                    await RunAsObserverAsync(() => _observer.OnNextBatchAsync(delivered));
                    Interlocked.Exchange(ref _lastDelivered, delivered[^1].Token.SequenceNumber);
                }

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
            catch
            {
                // The observer's error handler failing changes nothing: the subscription ends either way.
            }

            _stop.Cancel();
            _completion.TrySetException(exception);
            ForgetActivation();
            return;
        }

        _stop.Cancel();
        _completion.TrySetResult();
        ForgetActivation();
    }

    private Task RunAsObserverAsync(Func<Task> call)
    {
        if (_activation is null)
        {
            return call();
        }

        var turn = new DeliveryTurn(call) { Target = _activation.GrainId };
        var answered = turn.PrepareAnswer();
        _activation.Enqueue(turn);
        return answered;
    }

    /// <summary>A delivery to a grain subscriber, queued as a turn of its activation so it never overlaps a request.</summary>
    private sealed class DeliveryTurn(Func<Task> call) : GrainRequest<VoidResult>
    {
        public override string InterfaceName => "stream";

        public override string MethodName => "deliver";

        internal override bool IsBoundToActivation => true;

        public override ValueTask<VoidResult> InvokeAsync(object grain) => FromTask(call());
    }
}
