using Npgsql;
using NpgsqlTypes;

namespace Actors.Runtime;

/// <summary>
/// Grain state and reminders in PostgreSQL (cluster mode). Each write is one statement whose WHERE clause
/// carries the expected version, so the compare-and-swap happens in the database, not in the silo.
/// </summary>
public sealed partial class PostgresActorStore : IGrainStorage, IReminderTable, IActorStore, IAsyncDisposable
{
    private const string KeyFilter = "service_id = @s AND grain_type = @t AND grain_key = @k AND state_name = @n";
    private const string ReminderColumns = ActorSchema.ReminderColumns;

    private readonly NpgsqlDataSource _dataSource;
    private readonly RetryingInitializer _initialized;

    public PostgresActorStore(string connectionString)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _initialized = new RetryingInitializer(InitializeCoreAsync);
    }

    public Task InitializeAsync(CancellationToken cancellationToken) => _initialized.EnsureAsync();

    private async Task InitializeCoreAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        // Silos starting together must not race on CREATE TABLE: one takes the lock, the others then see the version rows.
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(7283401)");
        await ExecuteAsync(connection, ActorSchema.VersionTable);
        foreach (var (version, sql) in ActorSchema.Migrations("JSONB"))
        {
            await using var check = new NpgsqlCommand("SELECT COUNT(*) FROM actors_schema_version WHERE version = @v", connection);
            check.Parameters.AddWithValue("v", version);
            if ((long)(await check.ExecuteScalarAsync())! > 0)
            {
                continue;
            }

            await ExecuteAsync(connection, sql);
            await ExecuteAsync(connection, $"INSERT INTO actors_schema_version (version, applied_at) VALUES ({version}, {ActorSchema.NowMs()})");
        }

        await transaction.CommitAsync();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<GrainStateRecord?> ReadAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = _dataSource.CreateCommand($"SELECT payload::text, version FROM actors_grain_state WHERE {KeyFilter}");
        BindKey(command, key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new GrainStateRecord(reader.IsDBNull(0) ? null : reader.GetString(0), Etags.Format(reader.GetInt64(1)))
            : null;
    }

    public async Task<string> WriteAsync(GrainStateKey key, string payload, string? etag, CancellationToken cancellationToken) =>
        Etags.Format(await SwapAsync(key, payload, etag, cancellationToken));

    public async Task<string?> ClearAsync(GrainStateKey key, string? etag, CancellationToken cancellationToken)
    {
        if (etag is null && await CurrentVersionAsync(key, cancellationToken) is null)
        {
            return null;
        }

        return Etags.Format(await SwapAsync(key, null, etag, cancellationToken));
    }

    private async Task<long> SwapAsync(GrainStateKey key, string? payload, string? etag, CancellationToken cancellationToken)
    {
        var expected = Etags.Parse(etag, key);
        await _initialized.EnsureAsync();
        var sql = expected is null
            ? """
              INSERT INTO actors_grain_state (service_id, grain_type, grain_key, state_name, payload, version, modified_at)
              VALUES (@s, @t, @k, @n, @p, 1, @m) ON CONFLICT DO NOTHING RETURNING version
              """
            : $"UPDATE actors_grain_state SET payload = @p, version = version + 1, modified_at = @m WHERE {KeyFilter} AND version = @v RETURNING version";
        await using var command = _dataSource.CreateCommand(sql);
        BindKey(command, key);
        command.Parameters.Add(new NpgsqlParameter("p", NpgsqlDbType.Jsonb) { Value = (object?)payload ?? DBNull.Value });
        command.Parameters.AddWithValue("m", ActorSchema.NowMs());
        if (expected is { } version)
        {
            command.Parameters.AddWithValue("v", version);
        }

        if (await command.ExecuteScalarAsync(cancellationToken) is long written)
        {
            return written;
        }

        var current = await CurrentVersionAsync(key, cancellationToken);
        throw Etags.Stale(key, etag, current is { } c ? Etags.Format(c) : null);
    }

    private async Task<long?> CurrentVersionAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = _dataSource.CreateCommand($"SELECT version FROM actors_grain_state WHERE {KeyFilter}");
        BindKey(command, key);
        return await command.ExecuteScalarAsync(cancellationToken) is long version ? version : null;
    }

    private static void BindKey(NpgsqlCommand command, GrainStateKey key)
    {
        command.Parameters.AddWithValue("s", key.ServiceId);
        command.Parameters.AddWithValue("t", key.GrainType);
        command.Parameters.AddWithValue("k", key.GrainKey);
        command.Parameters.AddWithValue("n", key.StateName);
    }

    public async Task<IReadOnlyList<GrainReminder>> ReadAllAsync(string serviceId, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = _dataSource.CreateCommand($"SELECT {ReminderColumns} FROM actors_reminders WHERE service_id = @s");
        command.Parameters.AddWithValue("s", serviceId);
        return await ReadRemindersAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<GrainReminder>> ReadGrainAsync(string serviceId, GrainId grainId, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = _dataSource.CreateCommand(
            $"SELECT {ReminderColumns} FROM actors_reminders WHERE service_id = @s AND grain_type = @t AND grain_key = @k");
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("t", grainId.Type);
        command.Parameters.AddWithValue("k", grainId.Key);
        return await ReadRemindersAsync(command, cancellationToken);
    }

    private static async Task<IReadOnlyList<GrainReminder>> ReadRemindersAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ActorSchema.ReadRemindersAsync(reader, cancellationToken);
    }

    public async Task<GrainReminder> UpsertAsync(string serviceId, GrainId grainId, string name, DateTimeOffset startAt, TimeSpan period,
        CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = _dataSource.CreateCommand("""
            INSERT INTO actors_reminders (service_id, grain_type, grain_key, reminder_name, start_at, period_ms, grain_hash, version)
            VALUES (@s, @t, @k, @r, @a, @p, @h, 1)
            ON CONFLICT (service_id, grain_type, grain_key, reminder_name)
            DO UPDATE SET start_at = excluded.start_at, period_ms = excluded.period_ms, version = actors_reminders.version + 1
            RETURNING version
            """);
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("t", grainId.Type);
        command.Parameters.AddWithValue("k", grainId.Key);
        command.Parameters.AddWithValue("r", name);
        command.Parameters.AddWithValue("a", startAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("p", (long)period.TotalMilliseconds);
        command.Parameters.AddWithValue("h", ActorSchema.GrainHash(grainId));
        var version = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        return new GrainReminder(grainId, name, startAt, period, Etags.Format(version));
    }

    public async Task<bool> RemoveAsync(string serviceId, GrainId grainId, string name, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var command = _dataSource.CreateCommand(
            "DELETE FROM actors_reminders WHERE service_id = @s AND grain_type = @t AND grain_key = @k AND reminder_name = @r");
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("t", grainId.Type);
        command.Parameters.AddWithValue("k", grainId.Key);
        command.Parameters.AddWithValue("r", name);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
