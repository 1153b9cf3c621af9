using Microsoft.Data.Sqlite;

namespace Actors.Runtime;

public sealed partial class SqliteActorStore
{
    private const string ReminderColumns = ActorSchema.ReminderColumns;

    public Task<IReadOnlyList<GrainReminder>> ReadAllAsync(string serviceId, CancellationToken cancellationToken) =>
        ReadRemindersAsync("service_id = $s", command => command.Parameters.AddWithValue("$s", serviceId), cancellationToken);

    public Task<IReadOnlyList<GrainReminder>> ReadGrainAsync(string serviceId, GrainId grainId, CancellationToken cancellationToken) =>
        ReadRemindersAsync("service_id = $s AND grain_type = $t AND grain_key = $k", command =>
        {
            command.Parameters.AddWithValue("$s", serviceId);
            command.Parameters.AddWithValue("$t", grainId.Type);
            command.Parameters.AddWithValue("$k", grainId.Key);
        }, cancellationToken);

    private async Task<IReadOnlyList<GrainReminder>> ReadRemindersAsync(string filter, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {ReminderColumns} FROM actors_reminders WHERE {filter}";
        bind(command);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await ActorSchema.ReadRemindersAsync(reader, cancellationToken);
    }

    public Task<GrainReminder> UpsertAsync(string serviceId, GrainId grainId, string name, DateTimeOffset startAt, TimeSpan period,
        CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            var command = Prepared(connection, transaction, """
                INSERT INTO actors_reminders (service_id, grain_type, grain_key, reminder_name, start_at, period_ms, grain_hash, version)
                VALUES ($s, $t, $k, $r, $a, $p, $h, 1)
                ON CONFLICT (service_id, grain_type, grain_key, reminder_name)
                DO UPDATE SET start_at = excluded.start_at, period_ms = excluded.period_ms, version = actors_reminders.version + 1
                RETURNING version
                """);
            command.Parameters["$s"].Value = serviceId;
            command.Parameters["$t"].Value = grainId.Type;
            command.Parameters["$k"].Value = grainId.Key;
            command.Parameters["$r"].Value = name;
            command.Parameters["$a"].Value = startAt.ToUnixTimeMilliseconds();
            command.Parameters["$p"].Value = (long)period.TotalMilliseconds;
            command.Parameters["$h"].Value = ActorSchema.GrainHash(grainId);
            var version = (long)command.ExecuteScalar()!;
            return new GrainReminder(grainId, name, startAt, period, Etags.Format(version));
        }, cancellationToken);

    public Task<bool> RemoveAsync(string serviceId, GrainId grainId, string name, CancellationToken cancellationToken) =>
        WriteAsync((connection, transaction) =>
        {
            var command = Prepared(connection, transaction,
                "DELETE FROM actors_reminders WHERE service_id = $s AND grain_type = $t AND grain_key = $k AND reminder_name = $r");
            command.Parameters["$s"].Value = serviceId;
            command.Parameters["$t"].Value = grainId.Type;
            command.Parameters["$k"].Value = grainId.Key;
            command.Parameters["$r"].Value = name;
            return command.ExecuteNonQuery() > 0;
        }, cancellationToken);
}
