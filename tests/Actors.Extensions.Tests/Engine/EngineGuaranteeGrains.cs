using Orleans.Concurrency;

namespace Actors.Extensions.Tests.Engine;

[Alias("actors.tests.IActivationProbeGrain")]
public interface IActivationProbeGrain : IGrainWithStringKey
{
    Task<Guid> Activation();
}

/// <summary>Answers the id this activation drew when it was created: two ids for one key would be two activations.</summary>
public sealed class ActivationProbeGrain : Grain, IActivationProbeGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public Task<Guid> Activation() => Task.FromResult(_activation);
}

[Alias("actors.tests.ITurnProbeGrain")]
public interface ITurnProbeGrain : IGrainWithStringKey
{
    /// <summary>Enters, awaits, leaves; answers how many other calls were inside at any moment of this one.</summary>
    Task<int> EnterAwaitLeave(int pauseMs);

    [ReadOnly]
    Task<int> ReadWhilePausing(int pauseMs);
}

/// <summary>Counts the calls inside it at once: a non-reentrant grain must never see more than one.</summary>
public sealed class TurnProbeGrain : Grain, ITurnProbeGrain
{
    private int _inside;

    public Task<int> EnterAwaitLeave(int pauseMs) => RunAsync(pauseMs);

    public Task<int> ReadWhilePausing(int pauseMs) => RunAsync(pauseMs);

    private async Task<int> RunAsync(int pauseMs)
    {
        var seen = ++_inside - 1;
        await Task.Delay(pauseMs);
        seen = Math.Max(seen, _inside - 1);
        _inside--;
        return seen;
    }
}
