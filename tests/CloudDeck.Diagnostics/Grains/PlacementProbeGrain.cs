using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Grains.Diagnostics;

// Random placement: the cluster tests spread these over every silo (Orleans' default weighs silos by load).
[Orleans.Placement.RandomPlacement]
public sealed class PlacementProbeGrain(
    ILocalSiloDetails silo,
    ActivationJournal journal,
    [PersistentState("placement")] IPersistentState<PlacementProbeGrain.CounterState> state) : Grain, IPlacementProbeGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        journal.RecordAsync(this.GetGrainId().ToString(), _activation, silo.SiloAddress.ToString(), cancellationToken);

    public Task<PlacementView> Where() => Task.FromResult(View());

    public async Task<PlacementView> Increment()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return View();
    }

    private PlacementView View() => new(this.GetPrimaryKeyString(), silo.SiloAddress.ToString(), _activation, state.State.Count);

    public sealed class CounterState
    {
        public long Count { get; set; }
    }
}

// Random placement: the cluster tests spread these over every silo (Orleans' default weighs silos by load).
[Orleans.Placement.RandomPlacement]
public sealed class FanOutGrain : Grain, IFanOutGrain
{
    public async Task<IReadOnlyList<PlacementView>> Touch(string[] keys) =>
        await Task.WhenAll(keys.Select(key => GrainFactory.GetGrain<IPlacementProbeGrain>(key).Where()));
}
