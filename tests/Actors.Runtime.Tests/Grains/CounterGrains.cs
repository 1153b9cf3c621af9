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
