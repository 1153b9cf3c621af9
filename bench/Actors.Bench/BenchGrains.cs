namespace Actors.Bench;

/// <summary>The smallest useful grain: state in memory, one counter.</summary>
[Alias("bench.ICounterGrain")]
public interface ICounterGrain : IGrainWithStringKey
{
    [Alias("increment")]
    Task<int> Increment();
}

public sealed class CounterGrain : Grain, ICounterGrain
{
    private int _count;

    public Task<int> Increment() => Task.FromResult(++_count);
}

/// <summary>Answers what it is sent: a remote call with nothing but the call in it.</summary>
[Alias("bench.IEchoGrain")]
public interface IEchoGrain : IGrainWithStringKey
{
    [Alias("echo")]
    Task<int> Echo(int value);

    /// <summary>The silo this activation lives on, so the failover bench knows which process to kill.</summary>
    [Alias("host")]
    Task<string> Host();
}

public sealed class EchoGrain(Orleans.Runtime.ILocalSiloDetails silo) : Grain, IEchoGrain
{
    public Task<int> Echo(int value) => Task.FromResult(value);

    public Task<string> Host() => Task.FromResult(silo.SiloAddress.ToParsableString());
}

/// <summary>A grain that writes its state on every call: the storage bench's unit of work.</summary>
[Alias("bench.IStateGrain")]
public interface IStateGrain : IGrainWithStringKey
{
    [Alias("write")]
    Task<int> Write();
}

[GenerateSerializer, Alias("bench.CounterState")]
public sealed class CounterState
{
    [Id(0)]
    public int Count { get; set; }

    [Id(1)]
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
