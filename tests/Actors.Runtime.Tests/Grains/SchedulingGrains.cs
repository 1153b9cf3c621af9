using Actors.Runtime;

namespace Actors.Runtime.Tests.Grains;

/// <summary>
/// Counts calls in progress (across awaits) and checks, in every synchronous stretch, that no other
/// thread is inside this grain at the same moment.
/// </summary>
public abstract class ConcurrencyProbe : Grain, IConcurrencyProbe
{
    private int _inProgress;
    private int _maxInProgress;
    private int _threadsInside;
    private int _parallelViolations;

    public Task Work(int delayMs) => Run(delayMs);

    public Task Read(int delayMs) => Run(delayMs);

    public Task Interleaved(int delayMs) => Run(delayMs);

    public Task<ConcurrencyReport> Report() => Task.FromResult(new ConcurrencyReport(_maxInProgress, _parallelViolations));

    private async Task Run(int delayMs)
    {
        Enter();
        _inProgress++;
        _maxInProgress = Math.Max(_maxInProgress, _inProgress);
        Exit();

        await Task.Delay(delayMs);

        Enter();
        Thread.SpinWait(1000);
        _inProgress--;
        Exit();
    }

    private void Enter()
    {
        if (Interlocked.Increment(ref _threadsInside) > 1)
        {
            Interlocked.Increment(ref _parallelViolations);
        }
    }

    private void Exit() => Interlocked.Decrement(ref _threadsInside);
}

public sealed class NonReentrantProbe : ConcurrencyProbe, INonReentrantProbe;

[Reentrant]
public sealed class ReentrantProbe : ConcurrencyProbe, IReentrantProbe;

public abstract class ChainGrain : Grain, IChainGrain
{
    public async Task<string> Call(string[] path)
    {
        if (path.Length == 0)
        {
            return GetPrimaryKeyString();
        }

        var next = NextGrain(path[0]);
        return GetPrimaryKeyString() + ">" + await next.Call(path[1..]);
    }

    /// <summary>Keys starting with "r-" name reentrant grains; the others, non-reentrant ones.</summary>
    private IChainGrain NextGrain(string key) => key.StartsWith("r-", StringComparison.Ordinal)
        ? GrainFactory.GetGrain<IReentrantChainGrain>(key)
        : GrainFactory.GetGrain<INonReentrantChainGrain>(key);
}

public sealed class NonReentrantChainGrain : ChainGrain, INonReentrantChainGrain;

[Reentrant]
public sealed class ReentrantChainGrain : ChainGrain, IReentrantChainGrain;

public sealed class FaultyGrain : Grain, IFaultyGrain
{
    public Task Throw(string kind, string message) => kind switch
    {
        "argument" => throw new ArgumentException(message),
        "custom" => throw new GrainTestException(message),
        _ => AsyncThrow(message),
    };

    private static async Task AsyncThrow(string message)
    {
        await Task.Yield();
        throw new InvalidOperationException(message);
    }

    public async Task<int> Sleep(int milliseconds)
    {
        await Task.Delay(milliseconds);
        return milliseconds;
    }
}

public sealed class GrainTestException(string message) : Exception(message);
