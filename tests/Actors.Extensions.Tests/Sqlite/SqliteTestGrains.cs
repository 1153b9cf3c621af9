using System.Collections.Concurrent;
using Orleans;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>What a counter grain shows of itself: its state, its ETag and which activation answered.</summary>
[GenerateSerializer, Immutable, Alias("sqlite-tests.counter-view")]
public sealed record SqliteCounterView(
    [property: Id(0)] int Count,
    [property: Id(1)] string Note,
    [property: Id(2)] Guid ActivationId,
    [property: Id(3)] string? ETag,
    [property: Id(4)] bool RecordExists);

/// <summary>The stored state of <see cref="SqliteCounterGrain"/> (stored as JSON, so no Orleans serializer attributes needed).</summary>
public sealed class SqliteCounterState
{
    public int Count { get; set; }

    public string Note { get; set; } = "";
}

[Alias("sqlite-tests.counter")]
public interface ISqliteCounterGrain : IGrainWithStringKey
{
    Task<int> Increment();

    Task SetNote(string note);

    Task Clear();

    Task<SqliteCounterView> Get();
}

[GrainType(GrainTypeName)]
public sealed class SqliteCounterGrain(
    [PersistentState("counter", SqliteTestCluster.StorageName)] IPersistentState<SqliteCounterState> state) : Grain, ISqliteCounterGrain
{
    public const string GrainTypeName = "sqlite-counter";
    public const string StateName = "counter";

    private readonly Guid _activationId = Guid.NewGuid();

    public async Task<int> Increment()
    {
        state.State.Count++;
        await state.WriteStateAsync();
        return state.State.Count;
    }

    public Task SetNote(string note)
    {
        state.State.Note = note;
        return state.WriteStateAsync();
    }

    public Task Clear() => state.ClearStateAsync();

    public Task<SqliteCounterView> Get() =>
        Task.FromResult(new SqliteCounterView(state.State.Count, state.State.Note, _activationId, state.Etag, state.RecordExists));
}

[Alias("sqlite-tests.reminder")]
public interface ISqliteReminderGrain : IGrainWithStringKey
{
    Task Register(string name, TimeSpan dueTime, TimeSpan period);

    Task<bool> IsRegistered(string name);
}

/// <summary>Records each tick with the silo that received it, so a test can wait for a tick after a restart.</summary>
[GrainType("sqlite-reminder")]
public sealed class SqliteReminderGrain : Grain, ISqliteReminderGrain, IRemindable
{
    public async Task Register(string name, TimeSpan dueTime, TimeSpan period) =>
        await this.RegisterOrUpdateReminder(name, dueTime, period);

    public async Task<bool> IsRegistered(string name) => await this.GetReminder(name) is not null;

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        ReminderTicks.Record(this.GetPrimaryKeyString(), reminderName, RuntimeIdentity);
        return Task.CompletedTask;
    }
}

public static class ReminderTicks
{
    private static readonly ConcurrentDictionary<string, List<(string Reminder, string Silo)>> Ticks = new();
    private static readonly Lock Gate = new();

    public static void Record(string grainKey, string reminder, string silo)
    {
        lock (Gate)
        {
            Ticks.GetOrAdd(grainKey, _ => []).Add((reminder, silo));
        }
    }

    /// <summary>Waits until the grain's reminder ticked on the given silo (polling: ticks are rare).</summary>
    public static async Task WaitForTickAsync(string grainKey, string reminder, string silo, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (Gate)
            {
                if (Ticks.TryGetValue(grainKey, out var ticks) && ticks.Contains((reminder, silo)))
                {
                    return;
                }
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        lock (Gate)
        {
            var seen = Ticks.TryGetValue(grainKey, out var ticks) ? string.Join(", ", ticks) : "none";
            Assert.Fail($"The reminder '{reminder}' of {grainKey} did not tick on silo {silo} within {timeout} (ticks seen: {seen}).");
        }
    }
}
