using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.AdoNet;

public sealed class PostgresReminderTests(PostgresFixture postgres)
{
    private static readonly TimeSpan FireTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_registered_reminder_fires_and_fires_again_after_the_silo_restarts()
    {
        await using var cluster = await PostgresSiloHarness.CreateAsync(postgres, "reminder_restart");
        var key = "restart-" + Guid.NewGuid().ToString("N");
        var before = await cluster.StartSiloAsync();
        await before.Services.GetRequiredService<IGrainFactory>().GetGrain<IReminderProbeGrain>(key).Start(TimeSpan.FromSeconds(1));
        await WaitForTicksAsync(key, 1);
        await before.StopAsync(TestContext.Current.CancellationToken);
        var ticksAtStop = ReminderProbeGrain.Ticks[key];

        // Nobody calls the grain after the restart: only the stored reminder can wake it.
        var after = await cluster.StartSiloAsync();
        await WaitForTicksAsync(key, ticksAtStop + 1);

        await after.Services.GetRequiredService<IGrainFactory>().GetGrain<IReminderProbeGrain>(key).Stop();
        Assert.Equal(0L, await PostgresSchemaTests.ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM orleans_reminders"));
    }

    [Fact]
    public async Task The_reminder_table_reads_by_grain_by_name_and_by_hash_range_including_the_wrap_around()
    {
        await using var cluster = await PostgresSiloHarness.CreateAsync(postgres, "reminder_table");
        var silo = await cluster.StartSiloAsync();
        var ct = TestContext.Current.CancellationToken;
        var table = silo.Services.GetRequiredService<IReminderTable>();
        var grains = Enumerable.Range(0, 40).Select(i => GrainId.Create("probe", "g" + i)).ToArray();
        var etags = new Dictionary<GrainId, string>();
        foreach (var grain in grains)
        {
            etags[grain] = await table.UpsertRow(new ReminderEntry { GrainId = grain, ReminderName = "r", StartAt = DateTime.UtcNow, Period = TimeSpan.FromMinutes(1) }, ct) ?? throw new InvalidOperationException("no ETag");
        }
        var hashes = grains.Select(g => g.GetUniformHashCode()).Order().ToArray();

        // A range inside the ring, one that wraps past uint.MaxValue, and one that wraps past int.MaxValue (the providers compare as int).
        foreach (var (begin, end) in new[] { (hashes[5], hashes[20]), (hashes[30], hashes[3]), (0x7fff_fff0u, 0x8000_0010u), (hashes[10], hashes[10]) })
        {
            var expected = grains.Where(g => InRange(g.GetUniformHashCode(), begin, end)).Order().ToArray();
            var read = (await table.ReadRows(begin, end, ct)).Reminders.Select(r => r.GrainId).Order().ToArray();
            Assert.Equal(expected, read);
        }

        var one = await table.ReadRow(grains[0], "r", ct);
        Assert.Equal(etags[grains[0]], one?.ETag);
        Assert.Single((await table.ReadRows(grains[0], ct)).Reminders);
        var newEtag = await table.UpsertRow(new ReminderEntry { GrainId = grains[0], ReminderName = "r", StartAt = DateTime.UtcNow, Period = TimeSpan.FromMinutes(2) }, ct);
        Assert.NotEqual(etags[grains[0]], newEtag);
        Assert.False(await table.RemoveRow(grains[0], "r", etags[grains[0]], ct));
        Assert.True(await table.RemoveRow(grains[0], "r", newEtag!, ct));
        Assert.Null(await table.ReadRow(grains[0], "r", ct));
    }

    // The ring arc (begin, end] as Orleans means it; begin == end is the whole ring.
    private static bool InRange(uint hash, uint begin, uint end) =>
        begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;

    private static async Task WaitForTicksAsync(string key, int atLeast)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(FireTimeout);
        while (ReminderProbeGrain.Ticks.GetValueOrDefault(key) < atLeast)
        {
            await Task.Delay(100, timeout.Token);
        }
    }
}
