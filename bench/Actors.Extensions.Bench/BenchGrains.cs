namespace Actors.Extensions.Bench;

/// <summary>A typical small grain state (a few fields, ~100 bytes of JSON).</summary>
public sealed class BenchState
{
    public int Count { get; set; }

    public string Owner { get; set; } = "acme";

    public string Note { get; set; } = "benchmark state of a typical small grain";

    public DateTimeOffset UpdatedAt { get; set; }
}

public interface IStateWriterGrain : IGrainWithStringKey
{
    /// <summary>Writes the state again and again, each write awaited (as a grain does), until the deadline; returns how many.</summary>
    Task<int> WriteUntil(DateTime deadlineUtc);
}

/// <summary>Each round starts a silo whose provider "bench" is the storage being measured, so only the storage differs.</summary>
[GrainType("bench-state-writer")]
public sealed class StateWriterGrain([PersistentState("bench", StorageBench.ProviderName)] IPersistentState<BenchState> state)
    : Grain, IStateWriterGrain
{
    public async Task<int> WriteUntil(DateTime deadlineUtc)
    {
        var writes = 0;
        while (DateTime.UtcNow < deadlineUtc)
        {
            state.State.Count++;
            state.State.UpdatedAt = DateTimeOffset.UtcNow;
            await state.WriteStateAsync();
            writes++;
        }

        return writes;
    }
}
