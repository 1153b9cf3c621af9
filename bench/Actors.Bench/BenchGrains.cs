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
