using System.Collections.Concurrent;
using Actors.Runtime;

namespace Actors.Runtime.Tests.Grains;

/// <summary>Activations per grain key, across all test silos of this process.</summary>
public static class ActivationLog
{
    public static ConcurrentDictionary<string, int> Activations { get; } = new();

    public static ConcurrentDictionary<string, int> Deactivations { get; } = new();
}

public sealed class CounterState
{
    public int Count { get; set; }
}

public sealed class CounterGrain([PersistentState("counter")] IPersistentState<CounterState> state) : Grain, ICounterGrain
{
    private readonly Guid _activationId = Guid.NewGuid();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ActivationLog.Activations.AddOrUpdate(GrainId.ToString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        ActivationLog.Deactivations.AddOrUpdate(GrainId.ToString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    public async Task<int> Increment()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task<int> Get() => Task.FromResult(state.State.Count);

    public Task<Guid> ActivationId() => Task.FromResult(_activationId);

    public Task Stage(int value)
    {
        state.State.Count = value;
        return Task.CompletedTask;
    }

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public sealed class GuidKeyGrain : Grain, IGuidKeyGrain
{
    public Task<Guid> Key() => Task.FromResult(GetPrimaryKey());
}

[KeepAlive]
public sealed class KeepAliveGrain : Grain, IKeepAliveGrain
{
    public Task Touch() => Task.CompletedTask;
}

public sealed class EtagGrain([PersistentState("value")] IPersistentState<EtagGrain.Value> state) : Grain, IEtagGrain
{
    private readonly Guid _activationId = Guid.NewGuid();

    public async Task<string?> Write(string value)
    {
        state.State.Text = value;
        await state.WriteStateAsync();
        return state.Etag;
    }

    public Task<string?> Read() => Task.FromResult(state.State.Text);

    public Task<Guid> ActivationId() => Task.FromResult(_activationId);

    public sealed class Value
    {
        public string? Text { get; set; }
    }
}

public sealed class StateLifecycleGrain([PersistentState("lifecycle")] IPersistentState<CounterState> state) : Grain, IStateLifecycleGrain
{
    public Task<StateSnapshot> Snapshot() => Task.FromResult(new StateSnapshot(state.RecordExists, state.Etag, state.State.Count));

    public async Task<StateSnapshot> Write(int count)
    {
        state.State.Count = count;
        await state.WriteStateAsync();
        return await Snapshot();
    }

    public Task Stage(int count)
    {
        state.State.Count = count;
        return Task.CompletedTask;
    }

    public async Task<StateSnapshot> Read()
    {
        await state.ReadStateAsync();
        return await Snapshot();
    }

    public async Task<StateSnapshot> Clear()
    {
        await state.ClearStateAsync();
        return await Snapshot();
    }
}
