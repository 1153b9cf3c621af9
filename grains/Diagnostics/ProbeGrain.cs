using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Grains.Diagnostics;

public sealed class ProbeGrain([PersistentState("probe")] IPersistentState<ProbeGrain.ProbeState> state) : Grain, IProbeGrain
{
    public async Task<ProbeView> Write(string value)
    {
        state.State.Value = value;
        state.State.Writes++;
        await state.WriteStateAsync();
        return View();
    }

    public Task<ProbeView> Stage(string value)
    {
        state.State.Value = value;
        state.State.Writes++;
        return Task.FromResult(View());
    }

    public Task<ProbeView> Read() => Task.FromResult(View());

    private ProbeView View() => new(this.GetPrimaryKeyString(), state.State.Value, state.State.Writes, state.Etag);

    public sealed class ProbeState
    {
        public string? Value { get; set; }

        public long Writes { get; set; }
    }
}
