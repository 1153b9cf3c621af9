namespace Actors.Extensions.Sqlite.Child;

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> Increment();

    Task<int> Get();
}

public sealed class CounterState
{
    public int Count { get; set; }
}

[GrainType("sqlite-child-counter")]
public sealed class CounterGrain([PersistentState("counter", CounterGrain.StorageName)] IPersistentState<CounterState> state) : Grain, ICounterGrain
{
    public const string StorageName = "sqlite";

    public async Task<int> Increment()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<int> Get() => Task.FromResult(state.State.Count);
}
