using Actors.Runtime.Testing;

namespace Actors.Runtime.Tests;

public enum StorageKind
{
    Sqlite,
    Postgres,
}

/// <summary>Starts in-process silos with this assembly's test grains on a fresh database of the given kind.</summary>
public static class TestSilos
{
    public static Task<InProcessTestCluster> StartAsync(Action<SiloBuilder>? configure = null) =>
        InProcessTestCluster.StartAsync(silo =>
        {
            silo.AddGrains(typeof(TestSilos).Assembly).AddMemoryStorage();
            configure?.Invoke(silo);
        });

    public static async Task<InProcessTestCluster> StartAsync(StorageKind kind, PostgresFixture? postgres,
        Action<SiloBuilder>? configure = null)
    {
        var database = await CreateDatabaseAsync(kind, postgres);
        return await InProcessTestCluster.StartAsync(silo =>
        {
            silo.AddGrains(typeof(TestSilos).Assembly);
            if (kind == StorageKind.Sqlite)
            {
                silo.AddSqliteStorage(database).UseSqliteReminders(database);
            }
            else
            {
                silo.AddPostgresStorage(database).UsePostgresReminders(database);
            }

            configure?.Invoke(silo);
        });
    }

    /// <summary>A SQLite file path or a PostgreSQL connection string to an empty database.</summary>
    public static async Task<string> CreateDatabaseAsync(StorageKind kind, PostgresFixture? postgres) => kind switch
    {
        StorageKind.Sqlite => Path.Combine(Directory.CreateTempSubdirectory("actors-test-").FullName, "state.db"),
        _ => await postgres!.Server.CreateDatabaseAsync("actors"),
    };
}
