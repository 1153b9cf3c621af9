namespace Actors.Runtime;

/// <summary>One stored item. A null payload marks the end of a completed stream.</summary>
public sealed record StreamRecord(long Seq, long AppendedAtMs, string? Payload)
{
    public bool IsCompletion => Payload is null;
}

/// <summary>The first and last stored sequence numbers (0 and 0 when empty), and whether the last one completes the stream.</summary>
public readonly record struct StreamBounds(long First, long Last, bool Completed);

/// <summary>
/// Where stream items live. Appends are all-or-nothing, and a sequence number that already exists fails the whole append
/// (the primary key is the guard against two writers of one stream).
/// </summary>
public interface IStreamStore
{
    Task<StreamBounds> GetBoundsAsync(string serviceId, StreamId stream, CancellationToken cancellationToken);

    Task AppendAsync(string serviceId, StreamId stream, IReadOnlyList<StreamRecord> records, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> records with sequence numbers from <paramref name="from"/>, in order.</summary>
    Task<IReadOnlyList<StreamRecord>> ReadAsync(string serviceId, StreamId stream, long from, int maxCount, CancellationToken cancellationToken);

    /// <summary>Deletes the records before <paramref name="firstToKeep"/>.</summary>
    Task TrimAsync(string serviceId, StreamId stream, long firstToKeep, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the records of the namespace appended before <paramref name="cutoff"/>, except each stream's newest (it keeps the
    /// numbering going); returns how many.
    /// </summary>
    Task<long> DeleteOlderThanAsync(string serviceId, string streamNamespace, DateTimeOffset cutoff, CancellationToken cancellationToken);

    /// <summary>How far each implicit consumer of the stream has acknowledged.</summary>
    Task<IReadOnlyDictionary<string, long>> ReadCursorsAsync(string serviceId, StreamId stream, CancellationToken cancellationToken);

    Task WriteCursorAsync(string serviceId, StreamId stream, string consumer, long seq, CancellationToken cancellationToken);
}

/// <summary>Duplicate sequence numbers: another activation of the stream appended first.</summary>
public sealed class StreamConflictException : Exception
{
    public StreamConflictException(string message) : base(message)
    {
    }

    public StreamConflictException(string message, Exception inner) : base(message, inner)
    {
    }
}
