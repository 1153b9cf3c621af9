using Actors.Runtime.Tests.Grains;

namespace Actors.Runtime.Tests;

public sealed class ReminderTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<StorageKind> Kinds => [StorageKind.Sqlite, StorageKind.Postgres];

    private static void FastReminders(SiloBuilder silo) =>
        silo.ConfigureReminders(o => o.MinimumPeriod = TimeSpan.FromMilliseconds(100));

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_reminder_registered_before_a_restart_fires_after_it(StorageKind kind)
    {
        await using var silo = await TestSilos.StartAsync(kind, postgres, FastReminders);
        var key = $"rem-{kind}-{Guid.NewGuid():N}";
        // Due well after the restart, so any tick we count came from the new silo.
        await silo.GrainFactory.GetGrain<IReminderGrain>(key).Register("wake", dueMs: 1_500, periodMs: 200);

        await silo.RestartAsync(graceful: false);
        Assert.Equal(0, ReminderLog.Ticks.GetValueOrDefault(key));

        await ActivationTests.Eventually(() => ReminderLog.Ticks.GetValueOrDefault(key) >= 2);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_unregistered_reminder_stops_firing(StorageKind kind)
    {
        await using var silo = await TestSilos.StartAsync(kind, postgres, FastReminders);
        var key = $"unreg-{kind}-{Guid.NewGuid():N}";
        var grain = silo.GrainFactory.GetGrain<IReminderGrain>(key);
        await grain.Register("tick", dueMs: 0, periodMs: 100);
        await ActivationTests.Eventually(() => ReminderLog.Ticks.GetValueOrDefault(key) >= 1);

        await grain.Unregister("tick");
        await Task.Delay(150, Ct); // a tick already queued may still land
        var settled = ReminderLog.Ticks.GetValueOrDefault(key);
        await Task.Delay(600, Ct);
        Assert.Equal(settled, ReminderLog.Ticks.GetValueOrDefault(key));

        // And the row is gone: a new silo on the same storage does not fire it either.
        await silo.RestartAsync(graceful: false);
        await Task.Delay(400, Ct);
        Assert.Equal(settled, ReminderLog.Ticks.GetValueOrDefault(key));
    }

    [Fact]
    public async Task Periods_below_the_minimum_are_refused_with_a_clear_message()
    {
        await using var silo = await TestSilos.StartAsync(StorageKind.Sqlite, postgres: null);
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(
            () => silo.GrainFactory.GetGrain<IReminderGrain>("too-fast").Register("x", 0, 10));
        Assert.Contains("at least", error.Message);
    }
}
