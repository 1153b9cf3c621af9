using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Deployments;

public sealed class HostClaimState
{
    public string? Owner { get; set; }

    public DateTimeOffset ClaimedAt { get; set; }
}

/// <summary>
/// One host name → the project that holds it. A host nobody claimed yet but whose alias already serves a project (a
/// database from before claims) belongs to that project, so an existing site keeps its name.
/// </summary>
public sealed class HostClaimGrain([PersistentState("host-claim")] IPersistentState<HostClaimState> state, TimeProvider clock)
    : Grain, IHostClaimGrain
{
    private string Host => this.GetPrimaryKeyString();

    public async Task<bool> Claim(string projectKey)
    {
        if (string.IsNullOrWhiteSpace(projectKey)) throw new ArgumentException("A claim needs the project's key.", nameof(projectKey));
        if (state.State.Owner is { } owner) return owner == projectKey;
        var served = await GrainFactory.GetGrain<IAliasGrain>(Host).Get();
        state.State.Owner = served?.ProjectKey ?? projectKey;
        state.State.ClaimedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        return state.State.Owner == projectKey;
    }

    public async Task Release(string projectKey)
    {
        if (state.State.Owner != projectKey) return;
        state.State.Owner = null;
        await state.WriteStateAsync();
    }

    public Task<string?> GetOwner() => Task.FromResult(state.State.Owner);
}
