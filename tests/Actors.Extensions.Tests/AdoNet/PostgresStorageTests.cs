using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Actors.Extensions.Tests.AdoNet;

public sealed class PostgresStorageTests(PostgresFixture postgres)
{
    [Fact]
    public async Task State_written_through_ADO_NET_storage_survives_a_silo_restart()
    {
        await using var cluster = await PostgresSiloHarness.CreateAsync(postgres, "storage_restart");
        var before = await cluster.StartSiloAsync();
        var grains = before.Services.GetRequiredService<IGrainFactory>();
        var archiveKey = Guid.NewGuid();
        var otherKey = Guid.NewGuid();
        await grains.GetGrain<IPersistentCounterGrain>("restart").Add(5);
        await grains.GetGrain<IPersistentCounterGrain>("restart").Add(2);
        await grains.GetGrain<INamedStorageGrain>(archiveKey).Set("kept");
        await grains.GetGrain<INamedStorageGrain>(otherKey).Set("other key");
        await before.StopAsync(TestContext.Current.CancellationToken);

        var after = await cluster.StartSiloAsync();
        grains = after.Services.GetRequiredService<IGrainFactory>();

        Assert.Equal(7, await grains.GetGrain<IPersistentCounterGrain>("restart").Get());
        Assert.Equal("kept", await grains.GetGrain<INamedStorageGrain>(archiveKey).Get());
        Assert.Equal("other key", await grains.GetGrain<INamedStorageGrain>(otherKey).Get());
        // Two writes, version 1 then 2; the row is the counter's ETag.
        Assert.Equal(2, await PostgresSchemaTests.ScalarAsync<int>(cluster.ConnectionString,
            "SELECT version FROM orleans_grain_state WHERE grain_type ILIKE '%counter%'"));
    }

    [Fact]
    public async Task Clearing_keeps_the_version_counting_and_the_state_reads_back_empty()
    {
        await using var cluster = await PostgresSiloHarness.CreateAsync(postgres, "storage_clear");
        var silo = await cluster.StartSiloAsync();
        var grain = silo.Services.GetRequiredService<IGrainFactory>().GetGrain<INamedStorageGrain>(Guid.NewGuid());
        await grain.Set("v");

        await grain.Clear();
        await grain.Set("again");

        Assert.Equal("again", await grain.Get());
        Assert.Equal(3, await PostgresSchemaTests.ScalarAsync<int>(cluster.ConnectionString, "SELECT version FROM orleans_grain_state"));
    }

    [Fact]
    public async Task A_write_with_a_stale_ETag_is_refused_with_InconsistentStateException_and_nothing_is_overwritten()
    {
        await using var cluster = await PostgresSiloHarness.CreateAsync(postgres, "storage_etag");
        var silo = await cluster.StartSiloAsync();
        var counter = silo.Services.GetRequiredService<IGrainFactory>().GetGrain<IPersistentCounterGrain>("contended");
        await counter.Add(1);
        // Another writer (a duplicate activation during a partition, an operator) moves the row on behind this activation's back.
        await PostgresSchemaTests.ExecuteAsync(cluster.ConnectionString, "UPDATE orleans_grain_state SET version = version + 1");
        var payloadBefore = await PostgresSchemaTests.ScalarAsync<byte[]>(cluster.ConnectionString, "SELECT payload FROM orleans_grain_state");

        await Assert.ThrowsAsync<InconsistentStateException>(() => counter.Add(10));

        Assert.Equal(payloadBefore, await PostgresSchemaTests.ScalarAsync<byte[]>(cluster.ConnectionString, "SELECT payload FROM orleans_grain_state"));
        Assert.Equal(2, await PostgresSchemaTests.ScalarAsync<int>(cluster.ConnectionString, "SELECT version FROM orleans_grain_state"));
        // Orleans deactivated the conflicting activation: the next call reads the stored row afresh and can write again.
        Assert.Equal(1, await counter.Get());
        Assert.Equal(2, await counter.Add(1));
        Assert.Equal(3, await PostgresSchemaTests.ScalarAsync<int>(cluster.ConnectionString, "SELECT version FROM orleans_grain_state"));
    }
}
