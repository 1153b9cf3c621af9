using System.Collections.Concurrent;
using Actors.Runtime;

namespace Actors.Runtime.Tests.Grains;

public interface IPlacedGrain : IGrainWithStringKey
{
    /// <summary>The silo and activation that answered.</summary>
    Task<PlacedAnswer> Where();

    Task<int> Increment();

    [ReadOnly]
    Task<int> Get();

    /// <summary>Asks another grain where it lives: a grain-to-grain call.</summary>
    Task<PlacedAnswer> WhereVia(string otherKey);

    /// <summary>Calls the first grain of <paramref name="path"/> with the rest of it, and so on.</summary>
    Task<string> Chain(string[] path);

    /// <summary>Counts without answering.</summary>
    [OneWay]
    Task Poke();
}

public sealed record PlacedAnswer(string Silo, Guid Activation, int Count);

/// <summary>Activations per grain across all in-process silos of the test run.</summary>
public static class PlacementLog
{
    public static ConcurrentDictionary<string, ConcurrentBag<(string Silo, Guid Activation)>> Activations { get; } = new();
}

public sealed class PlacedGrain(LocalSiloDetails silo, [PersistentState("count")] IPersistentState<CounterState> state) : Grain, IPlacedGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        PlacementLog.Activations.GetOrAdd(GetPrimaryKeyString(), _ => []).Add((silo.Name, _activation));
        return Task.CompletedTask;
    }

    public Task<PlacedAnswer> Where() => Task.FromResult(new PlacedAnswer(silo.Name, _activation, state.State.Count));

    public async Task<int> Increment()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<int> Get() => Task.FromResult(state.State.Count);

    public Task<PlacedAnswer> WhereVia(string otherKey) => GrainFactory.GetGrain<IPlacedGrain>(otherKey).Where();

    public async Task<string> Chain(string[] path) =>
        path.Length == 0 ? GetPrimaryKeyString() : GetPrimaryKeyString() + ">" + await GrainFactory.GetGrain<IPlacedGrain>(path[0]).Chain(path[1..]);

    public async Task Poke()
    {
        await Task.Delay(200);
        await Increment();
    }
}

public interface ISlowStartGrain : IGrainWithStringKey
{
    Task<string> Where();
}

/// <summary>Takes a second to activate, so a view change can happen in the middle of its activation.</summary>
public sealed class SlowStartGrain(LocalSiloDetails silo) : Grain, ISlowStartGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken) => Task.Delay(1000, cancellationToken);

    public Task<string> Where() => Task.FromResult(silo.Name);
}
