namespace Actors.Extensions.Streams;

/// <summary>One stored entry. A null payload marks the end of a completed stream (it takes a position, but is not an item).</summary>
[GenerateSerializer, Immutable, Alias("actors.log.record")]
public sealed record LogRecord([property: Id(0)] long Seq, [property: Id(1)] long AppendedAtMs, [property: Id(2)] string? Payload)
{
    public bool IsCompletion => Payload is null;
}

/// <summary>The first and last stored positions (0 and 0 when empty), and whether the last one completes the stream.</summary>
public readonly record struct LogBounds(long First, long Last, bool Completed);

/// <summary>
/// Where log entries live. An append is all-or-nothing, and a position that already exists fails the whole append with
/// <see cref="LogStoreConflictException"/> (the primary key is the guard against two activations writing one stream).
/// </summary>
public interface ILogStore
{
    Task<LogBounds> GetBoundsAsync(string serviceId, LogStreamId stream, CancellationToken cancellationToken);

    Task AppendAsync(string serviceId, LogStreamId stream, IReadOnlyList<LogRecord> records, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> records with positions from <paramref name="from"/>, in order.</summary>
    Task<IReadOnlyList<LogRecord>> ReadAsync(string serviceId, LogStreamId stream, long from, int maxCount, CancellationToken cancellationToken);

    /// <summary>Deletes the records before <paramref name="firstToKeep"/>.</summary>
    Task TrimAsync(string serviceId, LogStreamId stream, long firstToKeep, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the namespace's records appended before <paramref name="cutoff"/>, except each stream's newest (it carries the
    /// numbering and the completion); returns how many.
    /// </summary>
    Task<long> DeleteOlderThanAsync(string serviceId, string streamNamespace, DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>How far each implicit consumer of the stream has acknowledged.</summary>
    Task<IReadOnlyDictionary<string, long>> ReadCursorsAsync(string serviceId, LogStreamId stream, CancellationToken cancellationToken);

    /// <summary>Moves a consumer's cursor forward (never back).</summary>
    Task WriteCursorAsync(string serviceId, LogStreamId stream, string consumer, long seq, CancellationToken cancellationToken);
}

/// <summary>Positions already stored: another activation of the stream appended first.</summary>
public sealed class LogStoreConflictException : Exception
{
    public LogStoreConflictException()
    {
    }

    public LogStoreConflictException(string message) : base(message)
    {
    }

    public LogStoreConflictException(string message, Exception inner) : base(message, inner)
    {
    }
}
