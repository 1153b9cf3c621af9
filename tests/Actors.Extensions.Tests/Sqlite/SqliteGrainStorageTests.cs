using Orleans;
using Orleans.Storage;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>SqliteGrainStorage under Orleans: what a grain writes is what it reads after a restart, and a stale ETag never overwrites.</summary>
public sealed class SqliteGrainStorageTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task State_written_by_grains_survives_a_silo_restart()
    {
        using var directory = new TempDirectory();
        var silo = await SqliteTestCluster.StartAsync(directory.File("state.db"));
        try
        {
            var first = silo.Client.GetGrain<ISqliteCounterGrain>("restart-a");
            var second = silo.Client.GetGrain<ISqliteCounterGrain>("restart-b");
            for (var i = 0; i < 3; i++)
            {
                await first.Increment();
            }

            await first.SetNote("kept");
            await second.Increment();

            silo = await silo.RestartAsync();

            var a = await silo.Client.GetGrain<ISqliteCounterGrain>("restart-a").Get();
            var b = await silo.Client.GetGrain<ISqliteCounterGrain>("restart-b").Get();
            Assert.Equal((3, "kept", "4", true), (a.Count, a.Note, a.ETag, a.RecordExists));
            Assert.Equal((1, "", "1", true), (b.Count, b.Note, b.ETag, b.RecordExists));
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_stale_etag_never_overwrites_and_the_activation_is_deactivated()
    {
        using var directory = new TempDirectory();
        await using var silo = await SqliteTestCluster.StartAsync(directory.File("etag.db"));
        var grain = silo.Client.GetGrain<ISqliteCounterGrain>("contended");
        await grain.Increment();
        var before = await grain.Get();

        // Another writer (as a second activation or another process would) writes through the same provider.
        var other = new GrainState<SqliteCounterState>();
        await silo.Storage.ReadStateAsync(SqliteCounterGrain.StateName, SqliteTestCluster.CounterId("contended"), other);
        other.State!.Count = 100;
        other.State.Note = "written by the other writer";
        await silo.Storage.WriteStateAsync(SqliteCounterGrain.StateName, SqliteTestCluster.CounterId("contended"), other);

        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(grain.Increment);
        Assert.Equal(("2", "1"), (conflict.StoredEtag, conflict.CurrentEtag));

        // Orleans deactivated the activation that held the stale state: the next call meets a fresh one that reads storage.
        var after = await grain.Get();
        Assert.NotEqual(before.ActivationId, after.ActivationId);
        Assert.Equal((100, "written by the other writer", "2"), (after.Count, after.Note, after.ETag));
        Assert.Equal(101, await grain.Increment());
    }

    [Fact]
    public async Task A_write_without_an_etag_over_an_existing_row_is_refused()
    {
        using var directory = new TempDirectory();
        await using var silo = await SqliteTestCluster.StartAsync(directory.File("no-etag.db"));
        await silo.Client.GetGrain<ISqliteCounterGrain>("exists").Increment();

        var blind = new GrainState<SqliteCounterState>(new SqliteCounterState { Count = 7 });
        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() =>
            silo.Storage.WriteStateAsync(SqliteCounterGrain.StateName, SqliteTestCluster.CounterId("exists"), blind));
        Assert.Equal(("1", null), (conflict.StoredEtag, conflict.CurrentEtag));

        var read = new GrainState<SqliteCounterState>();
        await silo.Storage.ReadStateAsync(SqliteCounterGrain.StateName, SqliteTestCluster.CounterId("exists"), read);
        Assert.Equal(1, read.State!.Count);
    }

    [Fact]
    public async Task Cleared_state_reads_as_new_after_a_restart_and_keeps_counting_versions()
    {
        using var directory = new TempDirectory();
        var silo = await SqliteTestCluster.StartAsync(directory.File("clear.db"));
        try
        {
            var grain = silo.Client.GetGrain<ISqliteCounterGrain>("cleared");
            await grain.Increment();
            await grain.Increment();
            await grain.Clear();
            var cleared = await grain.Get();
            Assert.Equal((0, false, "3"), (cleared.Count, cleared.RecordExists, cleared.ETag));

            silo = await silo.RestartAsync();

            grain = silo.Client.GetGrain<ISqliteCounterGrain>("cleared");
            var reread = await grain.Get();
            Assert.Equal((0, false, "3"), (reread.Count, reread.RecordExists, reread.ETag));
            Assert.Equal(1, await grain.Increment());
            Assert.Equal("4", (await grain.Get()).ETag);
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    [Fact]
    public async Task Concurrent_writes_from_many_grains_all_land_in_shared_transactions()
    {
        using var directory = new TempDirectory();
        var path = directory.File("concurrent.db");
        const int Grains = 200;
        const int WritesPerGrain = 15;
        using var batches = new SqliteBatchRecorder(path);
        var silo = await SqliteTestCluster.StartAsync(path);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, Grains).Select(async i =>
            {
                var grain = silo.Client.GetGrain<ISqliteCounterGrain>($"concurrent-{i}");
                for (var w = 0; w < WritesPerGrain; w++)
                {
                    await grain.Increment();
                }
            }));

            silo = await silo.RestartAsync();

            var counts = await Task.WhenAll(Enumerable.Range(0, Grains).Select(i => silo.Client.GetGrain<ISqliteCounterGrain>($"concurrent-{i}").Get()));
            Assert.All(counts, view => Assert.Equal(WritesPerGrain, view.Count));
            // Group commit: writes that arrived while a transaction was in flight went out together in the next one.
            Assert.Equal(Grains * WritesPerGrain, batches.Writes);
            Assert.True(batches.LargestBatch > 1, $"Every one of {batches.Commits} commits carried a single write.");
            Assert.True(batches.Commits < batches.Writes, $"{batches.Commits} commits for {batches.Writes} writes.");
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }
}
