// PLACEHOLDER (lead): the agreed contract, replaced by the streams branch at merge.
using System.Text.RegularExpressions;

namespace Actors.Extensions.Streams;

/// <summary>Names one stream: a namespace (what kind of stream: "build-logs") and a key within it (which one).</summary>
public readonly partial record struct LogStreamId
{
    public LogStreamId(string @namespace, string key)
    {
        if (string.IsNullOrEmpty(@namespace) || !NamespacePattern().IsMatch(@namespace))
        {
            throw new ArgumentException($"Stream namespace '{@namespace}' must be 1-64 characters of a-z, 0-9, '.', '_' or '-'.", nameof(@namespace));
        }

        if (string.IsNullOrEmpty(key) || key.Length > 256)
        {
            throw new ArgumentException("A stream key must be 1-256 characters.", nameof(key));
        }

        Namespace = @namespace;
        Key = key;
    }

    public string Namespace { get; }

    public string Key { get; }

    public override string ToString() => $"{Namespace}/{Key}";

    [GeneratedRegex("^[a-z0-9._-]{1,64}$")]
    private static partial Regex NamespacePattern();
}

/// <summary>
/// The position of an item in its stream: sequence numbers start at 1 and have no gaps, so the n-th item
/// appended is item n (a build log's line n).
/// </summary>
public readonly record struct LogPosition(long SequenceNumber) : IComparable<LogPosition>
{
    /// <summary>Subscribing from here delivers the whole retained history.</summary>
    public static LogPosition First => new(1);

    public LogPosition Next => new(SequenceNumber + 1);

    public int CompareTo(LogPosition other) => SequenceNumber.CompareTo(other.SequenceNumber);

    public override string ToString() => SequenceNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One delivered item with its position.</summary>
public readonly record struct LogItem<T>(T Item, LogPosition Position);

/// <summary>Receives a subscription's items in order, one call at a time.</summary>
public interface ILogObserver<T>
{
    Task OnNextAsync(T item, LogPosition token);

    /// <summary>Items that arrived together. Override to handle them at once (one flush, one send).</summary>
    async Task OnNextBatchAsync(IReadOnlyList<LogItem<T>> items)
    {
        foreach (var item in items)
        {
            await OnNextAsync(item.Item, item.Position);
        }
    }

    /// <summary>The producer completed the stream and every item before the completion was delivered.</summary>
    Task OnCompletedAsync() => Task.CompletedTask;

    /// <summary>The subscription ended because of an error it cannot retry (an item that does not deserialize).</summary>
    Task OnErrorAsync(Exception error) => Task.CompletedTask;
}

/// <summary>A live subscription. Dispose it to stop delivery.</summary>
public abstract class LogSubscription : IAsyncDisposable
{
    public abstract LogStreamId StreamId { get; }

    /// <summary>The last item delivered (and finished by the observer); null before the first.</summary>
    public abstract LogPosition? LastDelivered { get; }

    /// <summary>Completes when the stream completed and the observer saw it, the subscription was disposed, or it failed.</summary>
    public abstract Task Completion { get; }

    public abstract ValueTask DisposeAsync();
}

/// <summary>What a stream holds right now. <see cref="Last"/> is the last item's position (a completion is not an item).</summary>
public sealed record LogStreamInfo(LogStreamId StreamId, long FirstRetained, long Last, bool IsCompleted, string Host)
{
    public long Count => Last < FirstRetained ? 0 : Last - FirstRetained + 1;
}

/// <summary>A page of history read with <see cref="ILogStream{T}.ReadAsync"/>.</summary>
public sealed record LogPage<T>(IReadOnlyList<LogItem<T>> Items, long Last, bool IsCompleted)
{
    /// <summary>Where the next page starts.</summary>
    public LogPosition Next(LogPosition from) => Items.Count == 0 ? from : Items[^1].Position.Next;
}

/// <summary>
/// A durable, ordered, rewindable stream. Appends are stored (SQLite or PostgreSQL) before they are acknowledged
/// or delivered; every subscriber reads from a position of its own, so it gets every item once, in order.
/// </summary>
public interface ILogStream<T>
{
    LogStreamId Id { get; }

    /// <summary>Appends one item; returns its position once it is stored.</summary>
    Task<LogPosition> AppendAsync(T item);

    /// <summary>
    /// Appends items as one durable write; returns the last one's position. With <paramref name="expectedFirst"/>, the append is
    /// idempotent: it happens only if the first item would get that position, and a retry of an append that already
    /// happened returns its position instead of appending twice. Anything else throws <see cref="LogSequenceConflictException"/>.
    /// </summary>
    Task<LogPosition> AppendBatchAsync(IReadOnlyList<T> items, LogPosition? expectedFirst = null);

    /// <summary>Ends the stream: subscribers get <see cref="ILogObserver{T}.OnCompletedAsync"/> after the last item; later appends are refused.</summary>
    Task CompleteAsync();

    /// <summary>
    /// Delivers the items from <paramref name="from"/> (inclusive; null: only items appended from now on), history first,
    /// then live. A subscription made inside a grain delivers on the grain's turns and ends with the activation.
    /// </summary>
    Task<LogSubscription> SubscribeAsync(ILogObserver<T> observer, LogPosition? from = null);

    /// <summary>Reads up to <paramref name="maxCount"/> stored items from <paramref name="from"/> without subscribing.</summary>
    Task<LogPage<T>> ReadAsync(LogPosition from, int maxCount);

    Task<LogStreamInfo> GetInfoAsync();
}

/// <summary>Gives out streams. Registered in every silo and cluster client.</summary>
public interface ILogStreamProvider
{
    ILogStream<T> GetStream<T>(LogStreamId id);

    ILogStream<T> GetStream<T>(string @namespace, string key) => GetStream<T>(new LogStreamId(@namespace, key));
}

/// <summary>
/// On a grain class that implements <see cref="ILogConsumer{T}"/>: every stream of the namespace delivers its items to
/// the grain whose key is the stream's key, activating it when needed, whether or not anyone subscribed.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class ImplicitLogConsumerAttribute(string @namespace) : Attribute
{
    public string Namespace { get; } = @namespace;
}

/// <summary>
/// Implemented by grains with an <see cref="ImplicitLogConsumerAttribute"/>. Delivery is at least once and in order:
/// after a crash, items after the last acknowledged batch come again, so a consumer that must count each item once keeps
/// the last token it applied.
/// </summary>
public interface ILogConsumer<T>
{
    Task OnNextBatchAsync(LogStreamId stream, IReadOnlyList<LogItem<T>> items);

    Task OnCompletedAsync(LogStreamId stream) => Task.CompletedTask;
}

/// <summary>An idempotent append found the stream somewhere other than where the producer expected it.</summary>
public sealed class LogSequenceConflictException(string message) : Exception(message);

/// <summary>The stream was completed; it takes no more items.</summary>
public sealed class LogCompletedException(string message) : Exception(message);

/// <summary>Retention of one namespace: items older than <see cref="MaxAge"/> or beyond the newest <see cref="MaxCount"/> are deleted.</summary>
public sealed record LogRetention(TimeSpan? MaxAge = null, long? MaxCount = null);

public sealed class LogStreamOptions
{
    /// <summary>Recent items each stream keeps in memory, so live subscribers never read storage.</summary>
    public int CacheSize { get; set; } = 4096;

    /// <summary>The most items one read returns.</summary>
    public int MaxReadBatch { get; set; } = 1000;

    /// <summary>Items a subscriber holds that its observer has not taken yet; beyond it, reading pauses (the producer never waits).</summary>
    public int SubscriberBuffer { get; set; } = 1024;

    /// <summary>How long a subscriber's read waits at the head of the stream for new items before asking again.</summary>
    public TimeSpan LiveWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often age-based retention runs.</summary>
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Per namespace; streams of namespaces not listed keep everything.</summary>
    public Dictionary<string, LogRetention> Retention { get; } = new(StringComparer.Ordinal);
}
