using Microsoft.Data.Sqlite;

namespace Actors.Runtime;

public sealed partial class SqliteActorStore
{
    // Used only by the writer thread: prepared once, reused by every batch.
    private readonly Dictionary<string, SqliteCommand> _preparedWrites = new(StringComparer.Ordinal);

    private const string KeyFilter = "service_id = $s AND grain_type = $t AND grain_key = $k AND state_name = $n";

    public async Task<GrainStateRecord?> ReadAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        await _initialized.EnsureAsync();
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT payload, version FROM actors_grain_state WHERE {KeyFilter}";
        BindKey(command, key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new GrainStateRecord(reader.IsDBNull(0) ? null : reader.GetString(0), Etags.Format(reader.GetInt64(1)))
            : null;
    }

    public Task<string> WriteAsync(GrainStateKey key, string payload, string? etag, CancellationToken cancellationToken)
    {
        var expected = Etags.Parse(etag, key);
        return WriteAsync((connection, transaction) => Etags.Format(Swap(connection, transaction, key, payload, etag, expected)),
            cancellationToken);
    }

    public Task<string?> ClearAsync(GrainStateKey key, string? etag, CancellationToken cancellationToken)
    {
        var expected = Etags.Parse(etag, key);
        return WriteAsync<string?>((connection, transaction) =>
        {
            if (expected is null && CurrentVersion(connection, transaction, key) is null)
            {
                return null;
            }

            return Etags.Format(Swap(connection, transaction, key, null, etag, expected));
        }, cancellationToken);
    }

    private long Swap(SqliteConnection connection, SqliteTransaction transaction, GrainStateKey key, string? payload, string? etag, long? expected)
    {
        SqliteCommand command;
        if (expected is null)
        {
            command = Prepared(connection, transaction, """
                INSERT INTO actors_grain_state (service_id, grain_type, grain_key, state_name, payload, version, modified_at)
                VALUES ($s, $t, $k, $n, $p, 1, $m) ON CONFLICT DO NOTHING
                """);
        }
        else
        {
            command = Prepared(connection, transaction,
                $"UPDATE actors_grain_state SET payload = $p, version = version + 1, modified_at = $m WHERE {KeyFilter} AND version = $v");
            command.Parameters["$v"].Value = expected.Value;
        }

        command.Parameters["$s"].Value = key.ServiceId;
        command.Parameters["$t"].Value = key.GrainType;
        command.Parameters["$k"].Value = key.GrainKey;
        command.Parameters["$n"].Value = key.StateName;
        command.Parameters["$p"].Value = (object?)payload ?? DBNull.Value;
        command.Parameters["$m"].Value = ActorSchema.NowMs();
        if (command.ExecuteNonQuery() == 1)
        {
            return (expected ?? 0) + 1;
        }

        var current = CurrentVersion(connection, transaction, key);
        throw Etags.Stale(key, etag, current is { } v ? Etags.Format(v) : null);
    }

    private long? CurrentVersion(SqliteConnection connection, SqliteTransaction transaction, GrainStateKey key)
    {
        var command = Prepared(connection, transaction, $"SELECT version FROM actors_grain_state WHERE {KeyFilter}");
        BindKey(command, key);
        return command.ExecuteScalar() is long version ? version : null;
    }

    private SqliteCommand Prepared(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        if (!_preparedWrites.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in new[] { "$s", "$t", "$k", "$n", "$p", "$m", "$v", "$a", "$r", "$h" })
            {
                if (sql.Contains(name, StringComparison.Ordinal))
                {
                    command.Parameters.Add(new SqliteParameter { ParameterName = name });
                }
            }

            _preparedWrites[sql] = command;
        }

        command.Transaction = transaction;
        return command;
    }

    private static void BindKey(SqliteCommand command, GrainStateKey key)
    {
        SetParameter(command, "$s", key.ServiceId);
        SetParameter(command, "$t", key.GrainType);
        SetParameter(command, "$k", key.GrainKey);
        SetParameter(command, "$n", key.StateName);
    }

    private static void SetParameter(SqliteCommand command, string name, object value)
    {
        if (command.Parameters.Contains(name))
        {
            command.Parameters[name].Value = value;
        }
        else
        {
            command.Parameters.AddWithValue(name, value);
        }
    }
}
