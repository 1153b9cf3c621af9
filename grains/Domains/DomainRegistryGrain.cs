using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Domains;

namespace CloudDeck.Grains.Domains;

public sealed class DomainRegistryState
{
    public Dictionary<string, DomainRoute> Routes { get; set; } = new(StringComparer.Ordinal);
}

/// <inheritdoc cref="IDomainRegistryGrain"/>
/// <remarks>Stored before announced, as the alias grain does: an edge that reads after an announcement sees the change.</remarks>
public sealed class DomainRegistryGrain([PersistentState("domain-registry")] IPersistentState<DomainRegistryState> state, ILogStreamProvider streams)
    : Grain, IDomainRegistryGrain
{
    public async Task Put(DomainRoute route)
    {
        state.State.Routes[route.Domain] = route;
        await state.WriteStateAsync();
        await AnnounceAsync(new DomainChange(route.Domain, route));
    }

    public async Task Remove(string domain, string projectKey)
    {
        if (!state.State.Routes.TryGetValue(domain, out var route) || route.ProjectKey != projectKey) return;
        state.State.Routes.Remove(domain);
        await state.WriteStateAsync();
        await AnnounceAsync(new DomainChange(domain, null));
    }

    public Task<IReadOnlyList<DomainRoute>> List() => Task.FromResult<IReadOnlyList<DomainRoute>>([.. state.State.Routes.Values]);

    public Task<IReadOnlyList<string>> ListProject(string projectKey) =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Routes.Values.Where(r => r.ProjectKey == projectKey).Select(r => r.Domain).Order(StringComparer.Ordinal)]);

    private async Task AnnounceAsync(DomainChange change) => await
        streams.GetStream<DomainChange>(DomainChanges.Namespace, DomainChanges.Key).AppendAsync(change);
}
