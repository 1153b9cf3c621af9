using Orleans.Concurrency;

namespace Actors.Extensions.Streams;

/// <summary>The grain that owns one log stream (key "namespace/key"): it numbers appends, stores them, and serves readers.</summary>
[Alias("actors.log.ILogStreamGrain")]
internal interface ILogStreamGrain : IGrainWithStringKey
{
    /// <summary>Stores the payloads as the next items; returns the last one's position. <paramref name="expectedFirst"/> 0 means "wherever".</summary>
    [Alias("append")]
    Task<long> Append(string[] payloads, long expectedFirst);

    /// <summary>Stores the completion marker (once); returns its position.</summary>
    [Alias("complete")]
    Task<long> Complete();

    /// <summary>
    /// Stored entries from <paramref name="from"/>; at the head of a live stream, waits up to <paramref name="waitMs"/> for new
    /// ones. A caller that gives up cancels: Orleans then ends the call at once on both sides.
    /// </summary>
    [AlwaysInterleave, Alias("read")]
    Task<LogSlice> Read(long from, int maxCount, int waitMs, CancellationToken cancellationToken = default);

    [AlwaysInterleave, Alias("info")]
    Task<LogStreamInfo> Info();
}

/// <summary>An answer to a read: the entries, and the stream's bounds when it was read (<see cref="Last"/> counts the completion marker).</summary>
[GenerateSerializer, Immutable, Alias("actors.log.slice")]
internal sealed record LogSlice(
    [property: Id(0)] LogRecord[] Records,
    [property: Id(1)] long First,
    [property: Id(2)] long Last,
    [property: Id(3)] bool Completed);
