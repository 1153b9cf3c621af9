using CloudDeck.GrainInterfaces.Deployments;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Providers;
using Orleans.Storage;

namespace CloudDeck.Grains.Deployments;

/// <summary>
/// Reads the alias and deployment records the edge asks for straight from grain storage, the way their grains load
/// them on activation, without activating them. Safe because those grains store a change before announcing it on
/// <see cref="AliasChanges"/>: a stored record is never behind an announcement an edge has seen. Read only: every write
/// still goes through the owning grain.
/// </summary>
[StatelessWorker]
[Reentrant]
public sealed class EdgeLookupGrain(IServiceProvider services) : Grain, IEdgeLookupGrain
{
    // The names in AliasGrain's and DeploymentGrain's [PersistentState] attributes, which name no provider (the default).
    private const string AliasStateName = "alias";
    private const string DeploymentStateName = "deployment";

    private readonly IGrainStorage _storage = services.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);

    public async Task<AliasView?> FindAlias(string host)
    {
        var stored = await ReadAsync<AliasState>(AliasStateName, GrainFactory.GetGrain<IAliasGrain>(host).GetGrainId());
        return stored is { DeploymentId: { } id, ProjectKey: { } project }
            ? new AliasView(host, project, id, stored.UpdatedAt, stored.Version)
            : null;
    }

    public async Task<DeploymentManifest?> FindManifest(string deploymentId)
    {
        // A malformed id names no deployment: answered without reading anything.
        if (!DeploymentIds.IsWellFormed(deploymentId)) return null;
        var stored = await ReadAsync<DeploymentState>(DeploymentStateName, GrainFactory.GetGrain<IDeploymentGrain>(deploymentId).GetGrainId());
        return stored?.ServableManifest();
    }

    private async Task<T?> ReadAsync<T>(string stateName, GrainId grainId) where T : class, new()
    {
        var holder = new GrainState<T>(new T());
        await _storage.ReadStateAsync(stateName, grainId, holder);
        return holder.RecordExists ? holder.State : null;
    }
}
