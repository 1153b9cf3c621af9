using Actors.Runtime;

namespace Actors.Runtime.Tests.Grains;

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> Increment();

    [ReadOnly]
    Task<int> Get();

    /// <summary>Identifies the activation that answered.</summary>
    [ReadOnly]
    Task<Guid> ActivationId();

    /// <summary>Changes the count without writing it.</summary>
    Task Stage(int value);

    Task Deactivate();
}

public interface IGuidKeyGrain : IGrainWithGuidKey
{
    Task<Guid> Key();
}

/// <summary>Records how many of its calls ran at once and whether two ever ran on two threads at once.</summary>
public interface IConcurrencyProbe : IGrainWithStringKey
{
    Task Work(int delayMs);

    [ReadOnly]
    Task Read(int delayMs);

    [AlwaysInterleave]
    Task Interleaved(int delayMs);

    [ReadOnly]
    Task<ConcurrencyReport> Report();
}

public interface INonReentrantProbe : IConcurrencyProbe;

public interface IReentrantProbe : IConcurrencyProbe;

/// <param name="WriteOverlaps">times a non-read-only call saw another call in progress, or a read saw a write</param>
public sealed record ConcurrencyReport(int MaxConcurrentCalls, int ParallelThreadViolations, int WriteOverlaps);

public interface IChainGrain : IGrainWithStringKey
{
    /// <summary>Calls the first grain of <paramref name="path"/> with the rest of it, and so on.</summary>
    Task<string> Call(string[] path);

    /// <summary>Like <see cref="Call"/>, but makes the next call from Task.Run, off the activation's scheduler.</summary>
    Task<string> CallOffContext(string[] path);

    /// <summary>Starts a call along <paramref name="path"/> after a delay and returns at once (fire and forget).</summary>
    Task StartBackgroundCall(string[] path, int delayMs);

    Task Busy(int milliseconds);
}

public interface INonReentrantChainGrain : IChainGrain;

public interface IReentrantChainGrain : IChainGrain;

public interface IFaultyGrain : IGrainWithStringKey
{
    Task Throw(string kind, string message);

    Task<int> Sleep(int milliseconds);

    /// <summary>Blocks its thread: a turn stuck in synchronous code.</summary>
    Task<int> Spin(int milliseconds);
}

/// <summary>Keys starting with "fail" throw in OnActivateAsync; "hang" never finish activating.</summary>
public interface IFragileGrain : IGrainWithStringKey
{
    Task<string> Hello();
}

public interface IEtagGrain : IGrainWithStringKey
{
    Task<string?> Write(string value);

    [ReadOnly]
    Task<string?> Read();

    Task<Guid> ActivationId();
}

public interface IKeepAliveGrain : IGrainWithStringKey
{
    Task Touch();
}

public interface ITimerGrain : IGrainWithStringKey
{
    Task Start(int periodMs, int callbackMs, bool interleave);

    /// <summary>Whether a tick was in progress when this call got its turn.</summary>
    Task<bool> TickInProgress();

    /// <summary>Interleaves, so it answers even while a slow tick runs.</summary>
    [AlwaysInterleave]
    Task<TimerReport> Report();
}

public sealed record TimerReport(int Ticks, int Overlaps);

public interface IReminderGrain : IGrainWithStringKey, IRemindable
{
    Task Register(string name, int dueMs, int periodMs);

    Task Unregister(string name);

    Task<int> Ticks();
}

/// <summary>Drives <see cref="IPersistentState{TState}"/> from inside a grain: read, write, clear, and what it reports.</summary>
public interface IStateLifecycleGrain : IGrainWithStringKey
{
    Task<StateSnapshot> Snapshot();

    Task<StateSnapshot> Write(int count);

    /// <summary>Changes the count in memory only.</summary>
    Task Stage(int count);

    Task<StateSnapshot> Read();

    Task<StateSnapshot> Clear();
}

public sealed record StateSnapshot(bool RecordExists, string? Etag, int Count);
