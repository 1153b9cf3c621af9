
namespace CloudDeck.GrainInterfaces.Diagnostics;

/// <summary>
/// Where a grain lives and how often it was activated: used by the cluster's multi-process tests and by
/// operators checking placement. Every activation is recorded in the activation journal.
/// </summary>
[Alias("clouddeck.IPlacementProbeGrain")]
public interface IPlacementProbeGrain : IGrainWithStringKey
{
    [ReadOnly]
    Task<PlacementView> Where();

    /// <summary>Adds one to a persisted counter and returns it once written.</summary>
    Task<PlacementView> Increment();
}

[GenerateSerializer, Immutable, Alias("clouddeck.PlacementView")]
public sealed record PlacementView(string Key, string Silo, Guid Activation, long Count);

/// <summary>Calls many placement probes from inside the cluster, so calls originate on every silo.</summary>
[Alias("clouddeck.IFanOutGrain")]
public interface IFanOutGrain : IGrainWithStringKey
{
    Task<IReadOnlyList<PlacementView>> Touch(string[] keys);
}
