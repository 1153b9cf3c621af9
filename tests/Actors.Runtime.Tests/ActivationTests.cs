using Actors.Runtime.Tests.Grains;

namespace Actors.Runtime.Tests;

public sealed class ActivationTests
{
    [Fact]
    public async Task One_activation_per_id_under_1000_concurrent_callers()
    {
        await using var silo = await TestSilos.StartAsync();
        var keys = Enumerable.Range(0, 10).Select(i => $"single-{Guid.NewGuid():N}-{i}").ToArray();

        // 1,000 callers start together, 100 per grain, each asking which activation answered.
        using var start = new ManualResetEventSlim();
        var calls = Enumerable.Range(0, 1000).Select(i => Task.Run(async () =>
        {
            start.Wait();
            var key = keys[i % keys.Length];
            return (key, id: await silo.GrainFactory.GetGrain<ICounterGrain>(key).ActivationId());
        })).ToArray();
        start.Set();
        var answers = await Task.WhenAll(calls);

        foreach (var key in keys)
        {
            Assert.Single(answers.Where(a => a.key == key).Select(a => a.id).Distinct());
            Assert.Equal(1, ActivationLog.Activations[$"counter/{key}"]);
        }
    }

    [Fact]
    public async Task References_are_equal_by_id_and_rebuild_from_their_id()
    {
        await using var silo = await TestSilos.StartAsync();
        var a = silo.GrainFactory.GetGrain<ICounterGrain>("ref-1");
        var b = silo.GrainFactory.GetGrain<ICounterGrain>("ref-1");
        var other = silo.GrainFactory.GetGrain<ICounterGrain>("ref-2");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, other);

        var json = System.Text.Json.JsonSerializer.Serialize(a.GetGrainId());
        Assert.Equal("\"counter/ref-1\"", json);
        var rebuilt = silo.GrainFactory.GetGrain<ICounterGrain>(System.Text.Json.JsonSerializer.Deserialize<GrainId>(json));
        Assert.Equal(a, rebuilt);
        await a.Increment();
        Assert.Equal(1, await rebuilt.Get());
    }

    [Fact]
    public async Task Guid_keys_round_trip()
    {
        await using var silo = await TestSilos.StartAsync();
        var key = Guid.NewGuid();
        Assert.Equal(key, await silo.GrainFactory.GetGrain<IGuidKeyGrain>(key).Key());
    }

    [Fact]
    public async Task Idle_activations_are_collected_and_reactivate_with_their_state()
    {
        await using var silo = await TestSilos.StartAsync(s => s.Configure(o =>
        {
            o.CollectionAge = TimeSpan.FromMilliseconds(300);
            o.CollectionQuantum = TimeSpan.FromMilliseconds(100);
        }));
        var key = $"idle-{Guid.NewGuid():N}";
        var grain = silo.GrainFactory.GetGrain<ICounterGrain>(key);
        await grain.Increment();
        await grain.Increment();
        var firstActivation = await grain.ActivationId();
        await silo.GrainFactory.GetGrain<IKeepAliveGrain>("kept").Touch();

        await Eventually(() => ActivationLog.Deactivations.GetValueOrDefault($"counter/{key}") == 1);

        Assert.Equal(1, silo.ActivationCount); // only the [KeepAlive] grain is left
        Assert.Equal(2, await grain.Get());
        Assert.NotEqual(firstActivation, await grain.ActivationId());
        Assert.Equal(2, ActivationLog.Activations[$"counter/{key}"]);
    }

    [Fact]
    public async Task A_collection_age_set_for_one_grain_type_collects_that_type_only()
    {
        await using var silo = await TestSilos.StartAsync(s => s.Configure(o =>
        {
            o.CollectionAgeByGrainType["counter"] = TimeSpan.FromMilliseconds(300);
            o.CollectionQuantum = TimeSpan.FromMilliseconds(100);
        }));
        var key = $"typed-age-{Guid.NewGuid():N}";
        await silo.GrainFactory.GetGrain<ICounterGrain>(key).Increment();
        await silo.GrainFactory.GetGrain<IGuidKeyGrain>(Guid.NewGuid()).Key();

        await Eventually(() => ActivationLog.Deactivations.GetValueOrDefault($"counter/{key}") == 1);

        // The other type keeps the silo-wide age (15 minutes by default), so it is still there.
        Assert.Equal(1, silo.ActivationCount);
    }

    [Fact]
    public async Task DeactivateOnIdle_deactivates_after_the_call_and_the_next_call_reactivates()
    {
        await using var silo = await TestSilos.StartAsync();
        var key = $"doi-{Guid.NewGuid():N}";
        var grain = silo.GrainFactory.GetGrain<ICounterGrain>(key);
        await grain.Increment();
        var before = await grain.ActivationId();

        await grain.Deactivate();
        await Eventually(() => ActivationLog.Deactivations.GetValueOrDefault($"counter/{key}") == 1);

        Assert.NotEqual(before, await grain.ActivationId());
        Assert.Equal(1, await grain.Get());
    }

    [Fact]
    public async Task Graceful_stop_writes_changed_state_and_a_crash_does_not()
    {
        await using var silo = await TestSilos.StartAsync(StorageKind.Sqlite, postgres: null);
        var graceful = silo.GrainFactory.GetGrain<ICounterGrain>($"graceful-{Guid.NewGuid():N}");
        await graceful.Stage(41);
        await silo.RestartAsync(graceful: true);
        Assert.Equal(41, await silo.GrainFactory.GetGrain<ICounterGrain>(graceful.GetPrimaryKeyString()).Get());

        var crashed = silo.GrainFactory.GetGrain<ICounterGrain>($"crash-{Guid.NewGuid():N}");
        await crashed.Increment();
        await crashed.Stage(99);
        await silo.RestartAsync(graceful: false);
        Assert.Equal(1, await silo.GrainFactory.GetGrain<ICounterGrain>(crashed.GetPrimaryKeyString()).Get());
    }

    internal static Task Eventually(Func<bool> condition, int timeoutMs = 10_000) =>
        Eventually(() => Task.FromResult(condition()), timeoutMs);

    internal static async Task Eventually(Func<Task<bool>> condition, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!await condition())
        {
            Assert.True(Environment.TickCount64 < deadline, "The condition did not become true in time.");
            await Task.Delay(20);
        }
    }
}
