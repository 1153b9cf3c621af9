using Actors.Runtime;

namespace Actors.Bench;

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> Increment();
}

public sealed class CounterGrain : Grain, ICounterGrain
{
    private int _count;

    public Task<int> Increment() => Task.FromResult(++_count);
}

public interface IStateGrain : IGrainWithStringKey
{
    Task<int> Write();
}

public sealed class CounterState
{
    public int Count { get; set; }

    public string Note { get; set; } = "benchmark state of a typical small grain";
}

public sealed class StateGrain([PersistentState("bench")] IPersistentState<CounterState> state) : Grain, IStateGrain
{
    public async Task<int> Write()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }
}

public interface IEchoGrain : IGrainWithStringKey
{
    Task<int> Echo(int value);
}

public sealed class EchoGrain : Grain, IEchoGrain
{
    public Task<int> Echo(int value) => Task.FromResult(value);
}
