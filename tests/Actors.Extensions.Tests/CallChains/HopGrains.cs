using Orleans.Concurrency;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.CallChains;

/// <summary>The next call of a test chain: which kind of grain, its key, and which method.</summary>
[GenerateSerializer, Immutable, Alias("tests.call-chains.hop")]
public sealed record Hop([property: Id(0)] bool Reentrant, [property: Id(1)] string Key, [property: Id(2)] HopMethod Method = HopMethod.Plain);

public enum HopMethod
{
    Plain,
    AlwaysInterleave,
    ReadOnly,
}

/// <summary>Each grain calls the next hop and waits for it, so a test lays out any chain or cycle.</summary>
[Alias("tests.call-chains.ihop")]
public interface IHopGrain : IGrainWithStringKey
{
    [Alias("hop")]
    Task<string> Hop(Hop[] rest);

    [AlwaysInterleave, Alias("hop-interleave")]
    Task<string> HopInterleaved(Hop[] rest);

    [ReadOnly, Alias("hop-read-only")]
    Task<string> HopReadOnly(Hop[] rest);

    [Alias("where")]
    Task<string> Where();
}

[Alias("tests.call-chains.plain")]
public interface IPlainHopGrain : IHopGrain;

[Alias("tests.call-chains.reentrant")]
public interface IReentrantHopGrain : IHopGrain;

public abstract class HopGrainBase(ILocalSiloDetails silo) : Grain
{
    public Task<string> Hop(Hop[] rest) => Next(rest);

    public Task<string> HopInterleaved(Hop[] rest) => Next(rest);

    public Task<string> HopReadOnly(Hop[] rest) => Next(rest);

    public Task<string> Where() => Task.FromResult(silo.SiloAddress.ToString());

    private async Task<string> Next(Hop[] rest)
    {
        var here = this.GetPrimaryKeyString();
        if (rest.Length == 0) return here;
        var next = rest[0];
        IHopGrain grain = next.Reentrant ? GrainFactory.GetGrain<IReentrantHopGrain>(next.Key) : GrainFactory.GetGrain<IPlainHopGrain>(next.Key);
        var after = next.Method switch
        {
            HopMethod.AlwaysInterleave => await grain.HopInterleaved(rest[1..]),
            HopMethod.ReadOnly => await grain.HopReadOnly(rest[1..]),
            _ => await grain.Hop(rest[1..]),
        };
        return $"{here} > {after}";
    }
}

// Random placement: the load-weighing default can put every activation on one silo, and the cross-silo test needs pairs apart.
[Orleans.Placement.RandomPlacement]
public sealed class PlainHopGrain(ILocalSiloDetails silo) : HopGrainBase(silo), IPlainHopGrain;

[Reentrant]
public sealed class ReentrantHopGrain(ILocalSiloDetails silo) : HopGrainBase(silo), IReentrantHopGrain;
