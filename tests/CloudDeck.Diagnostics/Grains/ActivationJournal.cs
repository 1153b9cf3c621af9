using CloudDeck.Grains.Hosting;
using Npgsql;

namespace CloudDeck.Grains.Diagnostics;

/// <summary>
/// An append-only record of activations (grain, activation id, silo, time) in the shared PostgreSQL database,
/// so duplicate activations across silos are visible after the fact. With SQLite (one silo) it records nothing.
/// </summary>
public sealed class ActivationJournal(CloudDeckStorageOptions storage) : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _dataSource = string.Equals(storage.StorageProvider, "Postgres", StringComparison.OrdinalIgnoreCase)
        ? NpgsqlDataSource.Create(storage.PostgresConnectionString!)
        : null;

    private readonly SemaphoreSlim _created = new(1, 1);
    private bool _tableExists;

    public async Task RecordAsync(string grainId, Guid activation, string silo, CancellationToken cancellationToken)
    {
        if (_dataSource is null)
        {
            return;
        }

        await EnsureTableAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO clouddeck_activation_journal (grain_id, activation_id, silo, activated_at) VALUES (@g, @a, @s, now())");
        command.Parameters.AddWithValue("g", grainId);
        command.Parameters.AddWithValue("a", activation);
        command.Parameters.AddWithValue("s", silo);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (_tableExists)
        {
            return;
        }

        await _created.WaitAsync(cancellationToken);
        try
        {
            // The statements run as one implicit transaction, so a session lock released by the last statement would be
            // released before the CREATE commits, and a second silo would race it (23505 on pg_type). The transaction
            // lock is held until the commit.
            await using var command = _dataSource!.CreateCommand("""
                SELECT pg_advisory_xact_lock(7283403);
                CREATE TABLE IF NOT EXISTS clouddeck_activation_journal (
                    grain_id TEXT NOT NULL, activation_id UUID NOT NULL, silo TEXT NOT NULL, activated_at TIMESTAMPTZ NOT NULL);
                """);
            await command.ExecuteNonQueryAsync(cancellationToken);
            _tableExists = true;
        }
        finally
        {
            _created.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }
    }
}
