using System.Collections.Concurrent;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.AdoNet;

[Alias("tests.adonet.counter")]
public interface IPersistentCounterGrain : IGrainWithStringKey
{
    [Alias("add")]
    Task<int> Add(int amount);

    [Alias("get")]
    Task<int> Get();

    /// <summary>The silo this activation lives on, to see grains spread and move.</summary>
    [Alias("where")]
    Task<string> Where();
}

[GenerateSerializer, Alias("tests.adonet.counter-state")]
public sealed class CounterState
{
    [Id(0)] public int Value { get; set; }
}

public sealed class PersistentCounterGrain([PersistentState("counter")] IPersistentState<CounterState> state, ILocalSiloDetails silo) : Grain, IPersistentCounterGrain
{
    public async Task<int> Add(int amount)
    {
        state.State.Value += amount;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> Get() => Task.FromResult(state.State.Value);

    public Task<string> Where() => Task.FromResult(silo.SiloAddress.ToString());
}

[Alias("tests.adonet.named-storage")]
public interface INamedStorageGrain : IGrainWithGuidKey
{
    [Alias("set")]
    Task Set(string value);

    [Alias("get")]
    Task<string?> Get();

    [Alias("clear")]
    Task Clear();
}

[GenerateSerializer, Alias("tests.adonet.named-state")]
public sealed class NamedState
{
    [Id(0)] public string? Value { get; set; }
}

public sealed class NamedStorageGrain([PersistentState("named", "archive")] IPersistentState<NamedState> state) : Grain, INamedStorageGrain
{
    public Task Set(string value)
    {
        state.State.Value = value;
        return state.WriteStateAsync();
    }

    public Task<string?> Get() => Task.FromResult(state.State.Value);

    public Task Clear() => state.ClearStateAsync();
}

[Alias("tests.adonet.reminder")]
public interface IReminderProbeGrain : IGrainWithStringKey
{
    [Alias("start")]
    Task Start(TimeSpan period);

    [Alias("stop")]
    Task Stop();
}

public sealed class ReminderProbeGrain : Grain, IReminderProbeGrain, IRemindable
{
    /// <summary>Ticks per grain key, kept outside the grain so they survive its silo's restart (same test process).</summary>
    public static readonly ConcurrentDictionary<string, int> Ticks = new();

    public Task Start(TimeSpan period) => this.RegisterOrUpdateReminder("probe", period, period);

    public async Task Stop()
    {
        var reminder = await this.GetReminder("probe");
        if (reminder is not null) await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.AddOrUpdate(this.GetPrimaryKeyString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }
}
