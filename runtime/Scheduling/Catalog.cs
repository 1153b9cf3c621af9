using System.Collections.Concurrent;

namespace Actors.Runtime;

/// <summary>The activations of this silo, at most one per grain id.</summary>
internal sealed class Catalog(GrainRuntime runtime, GrainTypeRegistry registry)
{
    private readonly ConcurrentDictionary<GrainId, ActivationData> _activations = new();

    public int Count => _activations.Count;

    /// <summary>A lock-free walk; activations added or removed meanwhile may or may not be seen.</summary>
    public IEnumerable<ActivationData> All => _activations.Select(pair => pair.Value);

    public ActivationData GetOrCreate(GrainId grainId)
    {
        if (_activations.TryGetValue(grainId, out var existing))
        {
            return existing;
        }

        var typeInfo = registry.GetByName(grainId.Type);
        // The factory may run twice under a race, but only the stored activation ever gets a message,
        // and an activation does nothing until its first message arrives.
        return _activations.GetOrAdd(grainId, static (id, state) => new ActivationData(state.runtime, state.typeInfo, id),
            (runtime, typeInfo));
    }

    public bool TryGet(GrainId grainId, out ActivationData activation) => _activations.TryGetValue(grainId, out activation!);

    public void Remove(ActivationData activation) =>
        _activations.TryRemove(KeyValuePair.Create(activation.GrainId, activation));

    /// <summary>Asks every activation idle for longer than its collection age to deactivate.</summary>
    public int CollectIdle(TimeSpan defaultAge)
    {
        var now = Environment.TickCount64;
        var asked = 0;
        foreach (var (_, activation) in _activations)
        {
            if (activation.TypeInfo.KeepAlive)
            {
                continue;
            }

            var idleSince = now - (long)(activation.TypeInfo.CollectionAge ?? defaultAge).TotalMilliseconds;
            if (activation.LastActivityTicks <= idleSince)
            {
                activation.Schedule(() => activation.CollectIfIdle(idleSince));
                asked++;
            }
        }

        return asked;
    }

    /// <summary>Deactivates everything, repeating while new activations appear, until empty or timed out.</summary>
    public async Task DeactivateAllAsync(DeactivationReason reason, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_activations.IsEmpty && DateTime.UtcNow < deadline)
        {
            var batch = _activations.Values.ToArray();
            foreach (var activation in batch)
            {
                activation.Schedule(() => activation.StartDeactivation(reason));
            }

            var all = Task.WhenAll(batch.Select(a => a.Deactivated));
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero || await Task.WhenAny(all, Task.Delay(remaining)) != all)
            {
                break;
            }
        }
    }
}
