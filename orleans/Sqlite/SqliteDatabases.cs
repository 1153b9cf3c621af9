using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;

namespace Actors.Extensions.Sqlite;

/// <summary>
/// The silo's open SQLite files, one <see cref="SqliteDatabase"/> (so one writer connection) per path: grain storage
/// providers and the reminder table that name the same file share its group commit instead of contending for
/// SQLite's single write lock. They are closed after grains have deactivated and the reminder service has stopped,
/// so the last writes of a graceful shutdown are committed.
/// </summary>
internal sealed class SqliteDatabases(ILoggerFactory loggerFactory) : ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private readonly Dictionary<string, SqliteDatabase> _databases = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public SqliteDatabase Get(SqliteDatabaseOptions options)
    {
        var path = Path.GetFullPath(options.DatabasePath);
        lock (_gate)
        {
            if (_databases.TryGetValue(path, out var database))
            {
                if (database.Durability != options.Durability)
                {
                    throw new InvalidOperationException(
                        $"The SQLite database '{path}' is configured with Durability {database.Durability} by one provider and " +
                        $"{options.Durability} by another; they share one writer, so give them the same Durability (for example \"Full\").");
                }

                return database;
            }

            database = new SqliteDatabase(path, options.Durability, options.MaxBatchSize, loggerFactory.CreateLogger<SqliteDatabase>());
            _databases[path] = database;
            return database;
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SqliteDatabases), ServiceLifecycleStage.RuntimeStorageServices, _ => Task.CompletedTask, _ => CloseAllAsync());

    private async Task CloseAllAsync()
    {
        SqliteDatabase[] databases;
        lock (_gate)
        {
            databases = [.. _databases.Values];
            _databases.Clear();
        }

        foreach (var database in databases)
        {
            await database.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await CloseAllAsync().ConfigureAwait(false);
}
