using Actors.Runtime.Tests.Grains;
using Microsoft.Extensions.DependencyInjection;

namespace Actors.Runtime.Tests;

/// <summary>The same storage contract, against SQLite and against a real PostgreSQL server.</summary>
public sealed class PersistenceTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<StorageKind> Kinds => [StorageKind.Sqlite, StorageKind.Postgres];

    private async Task<IGrainStorage> StorageAsync(StorageKind kind)
    {
        var database = await TestSilos.CreateDatabaseAsync(kind, postgres);
        IGrainStorage storage = kind == StorageKind.Sqlite ? new SqliteActorStore(database) : new PostgresActorStore(database);
        await ((IActorStore)storage).InitializeAsync(Ct);
        // Initialization twice must be harmless: tables are created idempotently.
        IActorStore again = kind == StorageKind.Sqlite ? new SqliteActorStore(database) : new PostgresActorStore(database);
        await again.InitializeAsync(Ct);
        await ((IAsyncDisposable)again).DisposeAsync();
        return storage;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Etags_follow_row_versions_and_stale_writes_are_refused(StorageKind kind)
    {
        var storage = await StorageAsync(kind);
        var key = new GrainStateKey("svc", "thing", "k1", "main");

        Assert.Null(await storage.ReadAsync(key, Ct));
        var v1 = await storage.WriteAsync(key, """{"n":1}""", null, Ct);
        var v2 = await storage.WriteAsync(key, """{"n":2}""", v1, Ct);
        Assert.NotEqual(v1, v2);

        var read = await storage.ReadAsync(key, Ct);
        Assert.Equal(v2, read!.Etag);
        Assert.Contains("2", read.Payload);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteAsync(key, """{"n":3}""", v1, Ct));
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteAsync(key, """{"n":3}""", null, Ct));
        Assert.Contains("2", (await storage.ReadAsync(key, Ct))!.Payload);

        var cleared = await storage.ClearAsync(key, v2, Ct);
        var afterClear = await storage.ReadAsync(key, Ct);
        Assert.Null(afterClear!.Payload);
        Assert.Equal(cleared, afterClear.Etag);
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearAsync(key, v2, Ct));
        Assert.Null(await storage.ClearAsync(new GrainStateKey("svc", "thing", "absent", "main"), null, Ct));

        await ((IAsyncDisposable)storage).DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Grain_state_survives_a_silo_restart(StorageKind kind)
    {
        await using var silo = await TestSilos.StartAsync(kind, postgres);
        var key = $"persist-{Guid.NewGuid():N}";
        for (var i = 0; i < 5; i++)
        {
            await silo.GrainFactory.GetGrain<ICounterGrain>(key).Increment();
        }

        await silo.RestartAsync(graceful: false);

        Assert.Equal(5, await silo.GrainFactory.GetGrain<ICounterGrain>(key).Get());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_stale_etag_write_throws_and_deactivates_the_activation(StorageKind kind)
    {
        await using var silo = await TestSilos.StartAsync(kind, postgres);
        var key = $"stale-{Guid.NewGuid():N}";
        var grain = silo.GrainFactory.GetGrain<IEtagGrain>(key);
        var etag = await grain.Write("first");
        var activation = await grain.ActivationId();

        // Another writer (as a second activation during a membership change would) moves the row on.
        var storage = silo.Services.GetKeyedService<IGrainStorage>(StorageNames.Default)!;
        await storage.WriteAsync(new GrainStateKey("default", "etag", key, "value"), """{"text":"other writer"}""", etag, Ct);

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.Write("second"));

        // The stale activation is gone; the next call reads what the other writer wrote.
        await ActivationTests.Eventually(async () => await grain.ActivationId() != activation);
        Assert.Equal("other writer", await grain.Read());
        await grain.Write("third");
        Assert.Equal("third", await grain.Read());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_grain_reads_writes_and_clears_its_state_and_RecordExists_follows(StorageKind kind)
    {
        await using var silo = await TestSilos.StartAsync(kind, postgres);
        var key = $"lifecycle-{Guid.NewGuid():N}";
        var grain = silo.GrainFactory.GetGrain<IStateLifecycleGrain>(key);
        Assert.Equal(new StateSnapshot(RecordExists: false, Etag: null, Count: 0), await grain.Snapshot());

        var written = await grain.Write(5);
        Assert.True(written.RecordExists);
        Assert.NotNull(written.Etag);
        Assert.Equal(5, written.Count);

        // ReadStateAsync drops a change that was never written…
        await grain.Stage(99);
        Assert.Equal(written, await grain.Read());

        // …and picks up another writer's row, with its etag.
        var storage = silo.Services.GetKeyedService<IGrainStorage>(StorageNames.Default)!;
        var otherEtag = await storage.WriteAsync(new GrainStateKey("default", "statelifecycle", key, "lifecycle"), """{"count":7}""", written.Etag, Ct);
        Assert.Equal(new StateSnapshot(RecordExists: true, Etag: otherEtag, Count: 7), await grain.Read());

        var cleared = await grain.Clear();
        Assert.False(cleared.RecordExists);
        Assert.Equal(0, cleared.Count);
        Assert.NotEqual(otherEtag, cleared.Etag);

        // The clear is durable: a new activation finds no record, and can write again on the cleared row's etag.
        await silo.RestartAsync(graceful: false);
        var again = silo.GrainFactory.GetGrain<IStateLifecycleGrain>(key);
        Assert.Equal(cleared, await again.Snapshot());
        Assert.True((await again.Write(1)).RecordExists);
    }
}
