using System.Globalization;
using System.Text.RegularExpressions;

namespace Actors.Extensions.Streams;

/// <summary>Names one log stream: a namespace (what kind of log: "build-logs") and a key within it (which one).</summary>
[GenerateSerializer, Immutable, Alias("actors.log.stream-id")]
public readonly partial record struct LogStreamId
{
    public LogStreamId(string @namespace, string key)
    {
        if (string.IsNullOrEmpty(@namespace) || !NamespacePattern().IsMatch(@namespace))
        {
            throw new ArgumentException($"Log stream namespace '{@namespace}' must be 1-64 characters of a-z, 0-9, '.', '_' or '-'.", nameof(@namespace));
        }

        if (string.IsNullOrEmpty(key) || key.Length > 256)
        {
            throw new ArgumentException("A log stream key must be 1-256 characters.", nameof(key));
        }

        Namespace = @namespace;
        Key = key;
    }

    [Id(0)]
    public string Namespace { get; }

    [Id(1)]
    public string Key { get; }

    /// <summary>"namespace/key": the log grain's key. The namespace has no '/', so the first one splits it.</summary>
    public override string ToString() => $"{Namespace}/{Key}";

    /// <summary>Reads what <see cref="ToString"/> wrote.</summary>
    public static LogStreamId Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            throw new FormatException($"'{value}' is not a log stream id of the form namespace/key.");
        }

        return new LogStreamId(value[..slash], value[(slash + 1)..]);
    }

    [GeneratedRegex("^[a-z0-9._-]{1,64}$")]
    private static partial Regex NamespacePattern();
}

/// <summary>
/// The position of an item in its stream: positions start at 1 and have no gaps, so the n-th item appended is item n
/// (a build log's line n).
/// </summary>
[GenerateSerializer, Immutable, Alias("actors.log.position")]
public readonly record struct LogPosition([property: Id(0)] long SequenceNumber) : IComparable<LogPosition>
{
    /// <summary>Reading or subscribing from here delivers the whole retained history.</summary>
    public static LogPosition First => new(1);

    public LogPosition Next => new(SequenceNumber + 1);

    public int CompareTo(LogPosition other) => SequenceNumber.CompareTo(other.SequenceNumber);

    public static bool operator <(LogPosition left, LogPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(LogPosition left, LogPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(LogPosition left, LogPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(LogPosition left, LogPosition right) => left.CompareTo(right) >= 0;

    public override string ToString() => SequenceNumber.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One delivered item with its position.</summary>
[GenerateSerializer, Immutable, Alias("actors.log.item`1")]
public readonly record struct LogItem<T>([property: Id(0)] T Item, [property: Id(1)] LogPosition Position);

/// <summary>Receives a subscription's items in order, one call at a time.</summary>
public interface ILogObserver<T>
{
    Task OnNextAsync(T item, LogPosition position);

    /// <summary>Items that arrived together. Override to handle them at once (one flush, one send).</summary>
    async Task OnNextBatchAsync(IReadOnlyList<LogItem<T>> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items)
        {
            await OnNextAsync(item.Item, item.Position);
        }
    }

    /// <summary>The producer completed the stream and every item before the completion was delivered.</summary>
    Task OnCompletedAsync() => Task.CompletedTask;

    /// <summary>The subscription ended because of an error it cannot retry (the observer threw, or an item does not deserialize).</summary>
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

/// <summary>
/// What a stream holds right now. <see cref="Last"/> is the last item's position (0 when nothing was ever appended);
/// <see cref="Host"/> names the silo whose activation answered.
/// </summary>
[GenerateSerializer, Immutable, Alias("actors.log.info")]
public sealed record LogStreamInfo(
    [property: Id(0)] LogStreamId StreamId,
    [property: Id(1)] long FirstRetained,
    [property: Id(2)] long Last,
    [property: Id(3)] bool IsCompleted,
    [property: Id(4)] string Host)
{
    public long Count => Last < FirstRetained ? 0 : Last - FirstRetained + 1;
}

/// <summary>A page of history read with <see cref="ILogStream{T}.ReadAsync"/>. <see cref="Last"/> is the stream's last item when read.</summary>
public sealed record LogPage<T>(IReadOnlyList<LogItem<T>> Items, long Last, bool IsCompleted)
{
    /// <summary>Where the next page starts.</summary>
    public LogPosition Next(LogPosition from) => Items.Count == 0 ? from : Items[^1].Position.Next;
}

/// <summary>
/// A durable, ordered, rewindable log stream. Appends are stored (SQLite or PostgreSQL) before they are acknowledged or
/// readable; every subscriber reads from a position of its own, so it gets every item once, in order.
/// </summary>
public interface ILogStream<T>
{
    LogStreamId Id { get; }

    /// <summary>Appends one item; returns its position once it is stored.</summary>
    Task<LogPosition> AppendAsync(T item);

    /// <summary>
    /// Appends items as one durable write; returns the last one's position. With <paramref name="expectedFirst"/> the append is
    /// idempotent: it happens only if the first item would get that position, and a retry of an append that already happened
    /// returns its position instead of appending twice. Anything else throws <see cref="LogSequenceConflictException"/>.
    /// </summary>
    Task<LogPosition> AppendBatchAsync(IReadOnlyList<T> items, LogPosition? expectedFirst = null);

    /// <summary>Ends the stream: subscribers get <see cref="ILogObserver{T}.OnCompletedAsync"/> after the last item; later appends throw <see cref="LogCompletedException"/>.</summary>
    Task CompleteAsync();

    /// <summary>
    /// Delivers the items from <paramref name="from"/> (inclusive; null: only items appended from now on), history first, then
    /// live. Made inside a grain, deliveries take the grain's turns (like requests) and end when the activation does.
    /// </summary>
    Task<LogSubscription> SubscribeAsync(ILogObserver<T> observer, LogPosition? from = null);

    /// <summary>Reads up to <paramref name="maxCount"/> stored items from <paramref name="from"/> without subscribing.</summary>
    Task<LogPage<T>> ReadAsync(LogPosition from, int maxCount);

    Task<LogStreamInfo> GetInfoAsync();
}

/// <summary>Gives out log streams. Registered on silos and on cluster clients by AddLogStreams.</summary>
public interface ILogStreamProvider
{
    ILogStream<T> GetStream<T>(LogStreamId id);

    ILogStream<T> GetStream<T>(string @namespace, string key) => GetStream<T>(new LogStreamId(@namespace, key));
}
