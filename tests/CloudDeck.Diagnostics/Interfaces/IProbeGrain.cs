
namespace CloudDeck.GrainInterfaces.Diagnostics;

/// <summary>
/// A small keyed value used by operators and by process-level tests to check that a silo keeps state:
/// written through the runtime's storage, read back after restarts and crashes.
/// </summary>
[Alias("clouddeck.IProbeGrain")]
public interface IProbeGrain : IGrainWithStringKey
{
    /// <summary>Sets the value and writes it before returning.</summary>
    Task<ProbeView> Write(string value);

    /// <summary>Sets the value in memory only; it reaches storage when the activation is deactivated.</summary>
    Task<ProbeView> Stage(string value);

    [ReadOnly]
    Task<ProbeView> Read();
}

[GenerateSerializer, Immutable, Alias("clouddeck.ProbeView")]
public sealed record ProbeView(string Key, string? Value, long Writes, string? Etag);
