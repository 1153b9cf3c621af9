namespace Actors.Runtime;

/// <summary>Durable grain state, as <see cref="Grain"/> code sees it.</summary>
public interface IStorage<TState>
{
    TState State { get; set; }

    /// <summary>The version last read or written; null when no row exists.</summary>
    string? Etag { get; }

    bool RecordExists { get; }

    Task ReadStateAsync(CancellationToken cancellationToken = default);

    /// <summary>Writes the state if nobody else wrote since our etag; else throws <see cref="InconsistentStateException"/>.</summary>
    Task WriteStateAsync(CancellationToken cancellationToken = default);

    Task ClearStateAsync(CancellationToken cancellationToken = default);
}

/// <summary>A named piece of grain state, injected with <see cref="PersistentStateAttribute"/>.</summary>
public interface IPersistentState<TState> : IStorage<TState>;

/// <summary>Where one piece of state lives.</summary>
public readonly record struct GrainStateKey(string ServiceId, string GrainType, string GrainKey, string StateName)
{
    public override string ToString() => $"{GrainType}/{GrainKey} [{StateName}]";
}

/// <summary>A stored row: the JSON payload (null after a clear) and its version as an etag.</summary>
public sealed record GrainStateRecord(string? Payload, string Etag);

/// <summary>
/// A storage provider. Etags are row versions: a write or clear with a stale etag (or with no etag when a row
/// exists) changes nothing and throws <see cref="InconsistentStateException"/>.
/// </summary>
public interface IGrainStorage
{
    Task<GrainStateRecord?> ReadAsync(GrainStateKey key, CancellationToken cancellationToken);

    /// <returns>The new etag.</returns>
    Task<string> WriteAsync(GrainStateKey key, string payload, string? etag, CancellationToken cancellationToken);

    /// <returns>The new etag, or null if there was no row. A cleared row stays, with a null payload, so versions keep increasing.</returns>
    Task<string?> ClearAsync(GrainStateKey key, string? etag, CancellationToken cancellationToken);
}

/// <summary>A database that needs its tables created before first use.</summary>
public interface IActorStore
{
    Task InitializeAsync(CancellationToken cancellationToken);
}

internal static class Etags
{
    public static string Format(long version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static long? Parse(string? etag, GrainStateKey key) =>
        etag is null ? null
        : long.TryParse(etag, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v
        : throw new InconsistentStateException($"Etag '{etag}' of {key} is not a version this storage wrote.", etag);

    public static InconsistentStateException Stale(GrainStateKey key, string? etag, string? current) =>
        new($"The state {key} was changed by another writer (expected version {etag ?? "none"}, found {current ?? "none"}).",
            etag, current);
}
