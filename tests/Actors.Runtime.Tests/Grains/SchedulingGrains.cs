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
    private int _writesInProgress;
    private int _writeOverlaps;

    public Task Work(int delayMs) => Run(delayMs, write: true);

    public Task Read(int delayMs) => Run(delayMs, write: false);

    public Task Interleaved(int delayMs) => Run(delayMs, write: false);

    public Task<ConcurrencyReport> Report() => Task.FromResult(new ConcurrencyReport(_maxInProgress, _parallelViolations, _writeOverlaps));

    private async Task Run(int delayMs, bool write)
    {
        Enter();
        _inProgress++;
        _writesInProgress += write ? 1 : 0;
        _maxInProgress = Math.Max(_maxInProgress, _inProgress);
        CheckWriteIsolation(write);
        Exit();

        await Task.Delay(delayMs);

        Enter();
        CheckWriteIsolation(write);
        Thread.SpinWait(1000);
        _inProgress--;
        _writesInProgress -= write ? 1 : 0;
        Exit();
    }

    private void CheckWriteIsolation(bool write)
    {
        if (write ? _inProgress > 1 : _writesInProgress > 0)
        {
            _writeOverlaps++;
        }
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
    public static System.Collections.Concurrent.ConcurrentDictionary<string, Task<string>> BackgroundCalls { get; } = new();

    public async Task<string> CallOffContext(string[] path) =>
        GetPrimaryKeyString() + ">" + await Task.Run(() => NextGrain(path[0]).Call(path[1..]));

    public Task StartBackgroundCall(string[] path, int delayMs)
    {
        BackgroundCalls[GetPrimaryKeyString()] = BackgroundAsync(path, delayMs);
        return Task.CompletedTask;
    }

    private async Task<string> BackgroundAsync(string[] path, int delayMs)
    {
        await Task.Delay(delayMs);
        return await NextGrain(path[0]).Call(path[1..]);
    }

    public Task Busy(int milliseconds) => Task.Delay(milliseconds);

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

    public Task<int> Spin(int milliseconds)
    {
        Thread.Sleep(milliseconds);
        return Task.FromResult(milliseconds);
    }
}

public sealed class FragileGrain : Grain, IFragileGrain
{
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (GetPrimaryKeyString().StartsWith("fail", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("refusing to activate " + GetPrimaryKeyString());
        }

        if (GetPrimaryKeyString().StartsWith("hang", StringComparison.Ordinal))
        {
            await Task.Delay(Timeout.Infinite, CancellationToken.None); // ignores the token on purpose
        }
    }

    public Task<string> Hello() => Task.FromResult("hello " + GetPrimaryKeyString());
}

public sealed class GrainTestException(string message) : Exception(message);
