namespace Actors.Runtime;

/// <summary>Which silo this is, for grains and diagnostics (Orleans' ILocalSiloDetails).</summary>
public sealed class LocalSiloDetails
{
    /// <summary>Null for a silo that is not in a cluster.</summary>
    public SiloAddress? Address { get; internal set; }

    /// <summary>A name for logs and diagnostics: the cluster address, or "local".</summary>
    public string Name => Address?.ToString() ?? "local";
}
