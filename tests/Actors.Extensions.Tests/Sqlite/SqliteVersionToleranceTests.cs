using Orleans;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>The state of <see cref="SqliteCounterGrain"/> as a later build would declare it: one field added.</summary>
public sealed class SqliteCounterStateWithAddedField
{
    public int Count { get; set; }

    public string Note { get; set; } = "";

    public List<string> Labels { get; set; } = ["default label"];
}

/// <summary>State stored as JSON survives a state type gaining (or, read by an older build, losing) a field.</summary>
public sealed class SqliteVersionToleranceTests
{
    [Fact]
    public async Task A_state_written_by_this_version_keeps_its_values_when_read_by_a_type_with_an_added_field()
    {
        using var directory = new TempDirectory();
        await using var silo = await SqliteTestCluster.StartAsync(directory.File("tolerance.db"));
        var grain = silo.Client.GetGrain<ISqliteCounterGrain>("evolving");
        await grain.Increment();
        await grain.Increment();
        await grain.SetNote("written by this version");
        var id = SqliteTestCluster.CounterId("evolving");

        // Read the row as the later build's grain would: through the same provider, with the new type.
        var later = new GrainState<SqliteCounterStateWithAddedField>();
        await silo.Storage.ReadStateAsync(SqliteCounterGrain.StateName, id, later);
        Assert.Equal((2, "written by this version", "default label"), (later.State!.Count, later.State.Note, Assert.Single(later.State.Labels)));
        Assert.True(later.RecordExists);

        // The later build writes the added field; this version still reads its own fields from that row.
        later.State.Count = 3;
        later.State.Labels = ["added by the later build"];
        await silo.Storage.WriteStateAsync(SqliteCounterGrain.StateName, id, later);
        var earlier = new GrainState<SqliteCounterState>();
        await silo.Storage.ReadStateAsync(SqliteCounterGrain.StateName, id, earlier);
        Assert.Equal((3, "written by this version"), (earlier.State!.Count, earlier.State.Note));
    }
}
