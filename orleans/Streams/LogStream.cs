using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actors.Extensions.Streams;

/// <summary>Hands out typed views of log streams; on silos and on cluster clients alike, since all it needs is the grain factory.</summary>
internal sealed class LogStreamProvider(IGrainFactory grains, IOptions<LogStreamOptions> options, IGrainContextAccessor? context,
    ILoggerFactory loggers) : ILogStreamProvider
{
    public ILogStream<T> GetStream<T>(LogStreamId id)
    {
        if (id.Namespace is null)
        {
            throw new ArgumentException("The log stream id is empty.", nameof(id));
        }

        return new LogStream<T>(id, grains.GetGrain<ILogStreamGrain>(id.ToString()), options.Value, context, loggers.CreateLogger<LogStream<T>>());
    }
}

internal sealed class LogStream<T>(LogStreamId id, ILogStreamGrain grain, LogStreamOptions options, IGrainContextAccessor? context, ILogger logger)
    : ILogStream<T>
{
    private const int RetiredRetries = 20;

    public LogStreamId Id => id;

    internal ILogStreamGrain Grain => grain;

    internal LogStreamOptions Options => options;

    internal ILogger Logger => logger;

    public Task<LogPosition> AppendAsync(T item) => AppendBatchAsync([item]);

    public async Task<LogPosition> AppendBatchAsync(IReadOnlyList<T> items, LogPosition? expectedFirst = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        var payloads = new string[items.Count];
        for (var i = 0; i < payloads.Length; i++)
        {
            payloads[i] = LogJson.Serialize(items[i]);
        }

        return new LogPosition(await RetryWhileRetiredAsync(() => grain.Append(payloads, expectedFirst?.SequenceNumber ?? 0)));
    }

    public Task CompleteAsync() => RetryWhileRetiredAsync(grain.Complete);

    public async Task<LogSubscription> SubscribeAsync(ILogObserver<T> observer, LogPosition? from = null)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var start = from?.SequenceNumber ?? (await grain.Info()).Last + 1;
        // Made inside a grain: deliveries take the activation's turns, never beside its other work.
        var activation = context?.GrainContext is { GrainInstance: not null } grainContext ? grainContext : null;
        return LogSubscriptionLoop<T>.Start(this, observer, Math.Max(1, start), activation);
    }

    public async Task<LogPage<T>> ReadAsync(LogPosition from, int maxCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var slice = await grain.Read(from.SequenceNumber, maxCount, waitMs: 0);
        var items = new List<LogItem<T>>(slice.Records.Length);
        foreach (var record in slice.Records)
        {
            if (!record.IsCompletion)
            {
                items.Add(LogJson.ToItem<T>(record));
            }
        }

        return new LogPage<T>(items, slice.Completed ? slice.Last - 1 : slice.Last, slice.Completed);
    }

    public Task<LogStreamInfo> GetInfoAsync() => grain.Info();

    /// <summary>A retired activation stored nothing of the refused call, so asking again (the next activation answers) cannot duplicate.</summary>
    private static async Task<TResult> RetryWhileRetiredAsync<TResult>(Func<Task<TResult>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (LogActivationRetiredException) when (attempt < RetiredRetries)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10 * attempt));
            }
        }
    }
}
