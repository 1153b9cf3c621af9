using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Grains.Diagnostics;

/// <summary>
/// A value written at once (<see cref="Write"/>) or staged in memory (<see cref="Stage"/>) and written when the activation
/// deactivates gracefully (a SIGTERM, idle collection): what the process tests check survives or not.
/// </summary>
public sealed class ProbeGrain([PersistentState("probe")] IPersistentState<ProbeGrain.ProbeState> state) : Grain, IProbeGrain
{
    private bool _staged;

    public async Task<ProbeView> Write(string value)
    {
        state.State.Value = value;
        state.State.Writes++;
        await state.WriteStateAsync();
        _staged = false;
        return View();
    }

    public Task<ProbeView> Stage(string value)
    {
        state.State.Value = value;
        state.State.Writes++;
        _staged = true;
        return Task.FromResult(View());
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_staged) await state.WriteStateAsync(cancellationToken);
    }

    public Task<ProbeView> Read() => Task.FromResult(View());

    private ProbeView View() => new(this.GetPrimaryKeyString(), state.State.Value, state.State.Writes, state.Etag);

    public sealed class ProbeState
    {
        public string? Value { get; set; }

        public long Writes { get; set; }
    }
}
