using Actors.Extensions.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>SqliteReminderTable under Orleans' reminder service, and its table contract.</summary>
public sealed class SqliteReminderTableTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_reminder_registered_before_a_restart_fires_after_it()
    {
        using var directory = new TempDirectory();
        var key = $"restart-{Guid.NewGuid():N}";
        var silo = await SqliteTestCluster.StartAsync(directory.File("reminders.db"));
        try
        {
            // Due well after the restart, so the tick can only come from the reminder read back from the file.
            await silo.Client.GetGrain<ISqliteReminderGrain>(key).Register("wake", TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(1));
            var before = silo.SiloIdentity;

            silo = await silo.RestartAsync();

            Assert.NotEqual(before, silo.SiloIdentity);
            await ReminderTicks.WaitForTickAsync(key, "wake", silo.SiloIdentity, TimeSpan.FromSeconds(60));
            Assert.True(await silo.Client.GetGrain<ISqliteReminderGrain>(key).IsRegistered("wake"));
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_table_reads_by_grain_and_by_hash_range_with_wrap_around_and_removes_only_with_the_current_etag()
    {
        using var directory = new TempDirectory();
        await using var silo = await SqliteTestCluster.StartAsync(directory.File("table.db"));
        var table = silo.SiloServices.GetRequiredService<IReminderTable>();
        Assert.IsType<SqliteReminderTable>(table);

        var grains = Enumerable.Range(0, 40).Select(i => GrainId.Create("sqlite-reminder", $"range-{i}")).ToArray();
        var start = new DateTime(2026, 12, 6, 3, 0, 0, 123, DateTimeKind.Utc);
        var etags = new Dictionary<GrainId, string>();
        foreach (var grain in grains)
        {
            etags[grain] = (await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "r", StartAt = start, Period = TimeSpan.FromMinutes(5) }, Cancel))!;
        }

        var row = await table.ReadRow(grains[0], "r", Cancel);
        Assert.NotNull(row);
        Assert.Equal((grains[0], start, TimeSpan.FromMinutes(5), etags[grains[0]]), (row.GrainId, row.StartAt, row.Period, row.ETag));
        Assert.Single((await table.ReadRows(grains[1], Cancel)).Reminders);

        // Split the ring at two points: (a, b] and the wrapped (b, a] together hold every reminder exactly once.
        var hashes = grains.Select(g => g.GetUniformHashCode()).Order().ToArray();
        var (a, b) = (hashes[10], hashes[30]);
        var inside = (await table.ReadRows(a, b, Cancel)).Reminders.Select(r => r.GrainId).ToHashSet();
        var wrapped = (await table.ReadRows(b, a, Cancel)).Reminders.Select(r => r.GrainId).ToHashSet();
        Assert.Equal(20, inside.Count);
        Assert.All(inside, g => Assert.InRange(g.GetUniformHashCode(), a + 1, b));
        Assert.Empty(inside.Intersect(wrapped));
        Assert.Equal(grains.ToHashSet(), inside.Union(wrapped).ToHashSet());
        Assert.Equal(grains.Length, (await table.ReadRows(a, a, Cancel)).Reminders.Count);

        var newer = await table.UpsertRow(new ReminderEntry { GrainId = grains[0], ReminderName = "r", StartAt = start, Period = TimeSpan.FromMinutes(1) }, Cancel);
        Assert.NotEqual(etags[grains[0]], newer);
        Assert.False(await table.RemoveRow(grains[0], "r", etags[grains[0]], Cancel));
        Assert.NotNull(await table.ReadRow(grains[0], "r", Cancel));
        Assert.True(await table.RemoveRow(grains[0], "r", newer!, Cancel));
        Assert.Null(await table.ReadRow(grains[0], "r", Cancel));

        await table.TestOnlyClearTable(Cancel);
        Assert.Empty((await table.ReadRows(0, 0, Cancel)).Reminders);
    }
}
