using System.Text.Json;

namespace Actors.Runtime;

/// <summary>Hands out typed views of streams; the items travel and rest as JSON.</summary>
internal sealed class StreamProvider(GrainRuntime runtime, StreamOptions options) : IStreamProvider
{
    public IAsyncStream<T> GetStream<T>(StreamId id)
    {
        if (id.Namespace is null)
        {
            throw new ArgumentException("The stream id is empty.", nameof(id));
        }

        return new AsyncStream<T>(id, runtime.GetGrain<IStreamGrain>(StreamGrain.KeyOf(id)), options, runtime.Options.SerializerOptions);
    }
}

internal sealed class AsyncStream<T>(StreamId id, IStreamGrain grain, StreamOptions options, JsonSerializerOptions json) : IAsyncStream<T>
{
    private const int RetiredRetries = 20;

    public StreamId Id => id;

    public Task<StreamSequenceToken> OnNextAsync(T item) => OnNextBatchAsync([item]);

    public async Task<StreamSequenceToken> OnNextBatchAsync(IReadOnlyList<T> items, StreamSequenceToken? expectedFirst = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        var payloads = new string[items.Count];
        for (var i = 0; i < payloads.Length; i++)
        {
            payloads[i] = JsonSerializer.Serialize(items[i], json);
        }

        return new StreamSequenceToken(await RetryWhileRetiredAsync(() => grain.Append(payloads, expectedFirst?.SequenceNumber ?? 0)));
    }

    public Task OnCompletedAsync() => RetryWhileRetiredAsync(grain.Complete);

    public async Task<StreamSubscriptionHandle> SubscribeAsync(IAsyncObserver<T> observer, StreamSequenceToken? from = null)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var start = from?.SequenceNumber ?? (await grain.Info()).Last + 1;
        return StreamSubscription<T>.Start(this, grain, observer, Math.Max(1, start), options, json);
    }

    public async Task<StreamPage<T>> ReadAsync(StreamSequenceToken from, int maxCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        var slice = await grain.Read(from.SequenceNumber, maxCount, waitMs: 0);
        var items = new List<StreamItem<T>>(slice.Records.Length);
        foreach (var record in slice.Records)
        {
            if (!record.IsCompletion)
            {
                items.Add(Deserialize(record));
            }
        }

        return new StreamPage<T>(items, slice.Completed ? slice.Last - 1 : slice.Last, slice.Completed);
    }

    public Task<StreamInfo> GetInfoAsync() => grain.Info();

    internal StreamItem<T> Deserialize(StreamRecord record) =>
        new(JsonSerializer.Deserialize<T>(record.Payload!, json)!, new StreamSequenceToken(record.Seq));

    /// <summary>A retired activation appended nothing, so asking again (the next activation answers) cannot duplicate.</summary>
    private static async Task<TResult> RetryWhileRetiredAsync<TResult>(Func<Task<TResult>> call)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (StreamActivationRetiredException) when (attempt < RetiredRetries)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10 * attempt));
            }
        }
    }
}
