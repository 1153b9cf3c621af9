using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Actors.Extensions.Sqlite;

/// <summary>
/// Orleans' reminder table in a SQLite file (usually the grain storage's file, whose writer it then shares).
/// Each row keeps the grain's uniform hash so a silo can read the reminders of its ring range; a reminder's ETag
/// is random, so one removed and added again never matches an ETag from before.
/// </summary>
public sealed class SqliteReminderTable : IReminderTable
{
    private const string Columns = "grain_type, grain_key, reminder_name, start_at, period, etag";
    private const string GrainFilter = "service_id = $service AND grain_type = $type AND grain_key = $key";

    private readonly string _serviceId;
    private readonly SqliteDatabase _database;

    internal SqliteReminderTable(IOptions<SqliteReminderTableOptions> options, IOptions<ClusterOptions> cluster, SqliteDatabases databases)
    {
        _serviceId = cluster.Value.ServiceId;
        _database = databases.Get(options.Value);
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => _database.InitializeAsync().WaitAsync(cancellationToken);

    [Obsolete("Orleans calls StartAsync.")]
    public Task Init() => StartAsync();

    public Task<ReminderTableData> ReadRows(GrainId grainId) => ReadRows(grainId, CancellationToken.None);

    public Task<ReminderTableData> ReadRows(GrainId grainId, CancellationToken cancellationToken) =>
        ReadAsync($"SELECT {Columns} FROM grain_reminders WHERE {GrainFilter}", parameters => BindGrain(parameters, grainId));

    public Task<ReminderTableData> ReadRows(uint begin, uint end) => ReadRows(begin, end, CancellationToken.None);

    /// <summary>The reminders whose grain hash is in the ring range (begin, end]; begin ≥ end wraps around past zero.</summary>
    public Task<ReminderTableData> ReadRows(uint begin, uint end, CancellationToken cancellationToken)
    {
        var range = begin < end ? "grain_hash > $begin AND grain_hash <= $end" : "(grain_hash > $begin OR grain_hash <= $end)";
        return ReadAsync($"SELECT {Columns} FROM grain_reminders WHERE service_id = $service AND {range}", parameters =>
        {
            parameters.AddWithValue("$service", _serviceId);
            parameters.AddWithValue("$begin", (long)begin);
            parameters.AddWithValue("$end", (long)end);
        });
    }

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) => ReadRow(grainId, reminderName, CancellationToken.None);

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName, CancellationToken cancellationToken)
    {
        var rows = await ReadAsync($"SELECT {Columns} FROM grain_reminders WHERE {GrainFilter} AND reminder_name = $name", parameters =>
        {
            BindGrain(parameters, grainId);
            parameters.AddWithValue("$name", reminderName);
        }).ConfigureAwait(false);
        return rows.Reminders.Count == 0 ? null : rows.Reminders[0];
    }

    public Task<string?> UpsertRow(ReminderEntry entry) => UpsertRow(entry, CancellationToken.None);

    public Task<string?> UpsertRow(ReminderEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var etag = SqliteEtags.NewReminderEtag();
        var grainType = entry.GrainId.Type.ToString()!;
        var grainKey = entry.GrainId.Key.ToString()!;
        var startAt = entry.StartAt.Kind == DateTimeKind.Local ? entry.StartAt.ToUniversalTime() : entry.StartAt;
        return _database.WriteAsync(new SqliteDelegateWrite<string?>(commands =>
        {
            var command = commands.Get("""
                INSERT INTO grain_reminders (service_id, grain_type, grain_key, reminder_name, grain_hash, start_at, period, etag)
                VALUES ($service, $type, $key, $name, $hash, $start, $period, $etag)
                ON CONFLICT (service_id, grain_type, grain_key, reminder_name)
                DO UPDATE SET grain_hash = excluded.grain_hash, start_at = excluded.start_at, period = excluded.period, etag = excluded.etag
                """);
            var parameters = command.Parameters;
            parameters["$service"].Value = _serviceId;
            parameters["$type"].Value = grainType;
            parameters["$key"].Value = grainKey;
            parameters["$name"].Value = entry.ReminderName;
            parameters["$hash"].Value = (long)entry.GrainId.GetUniformHashCode();
            parameters["$start"].Value = startAt.Ticks;
            parameters["$period"].Value = entry.Period.Ticks;
            parameters["$etag"].Value = etag;
            command.ExecuteNonQuery();
            return etag;
        }), cancellationToken);
    }

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag) => RemoveRow(grainId, reminderName, eTag, CancellationToken.None);

    /// <returns>false when the reminder is missing or its ETag is not <paramref name="eTag"/>: nothing removed.</returns>
    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag, CancellationToken cancellationToken)
    {
        var grainType = grainId.Type.ToString()!;
        var grainKey = grainId.Key.ToString()!;
        return _database.WriteAsync(new SqliteDelegateWrite<bool>(commands =>
        {
            var command = commands.Get($"DELETE FROM grain_reminders WHERE {GrainFilter} AND reminder_name = $name AND etag = $etag");
            var parameters = command.Parameters;
            parameters["$service"].Value = _serviceId;
            parameters["$type"].Value = grainType;
            parameters["$key"].Value = grainKey;
            parameters["$name"].Value = reminderName;
            parameters["$etag"].Value = eTag;
            return command.ExecuteNonQuery() > 0;
        }), cancellationToken);
    }

    public Task TestOnlyClearTable() => TestOnlyClearTable(CancellationToken.None);

    /// <summary>Removes this service's reminders (other services sharing the file keep theirs).</summary>
    public Task TestOnlyClearTable(CancellationToken cancellationToken) =>
        _database.WriteAsync(new SqliteDelegateWrite<int>(commands =>
        {
            var command = commands.Get("DELETE FROM grain_reminders WHERE service_id = $service");
            command.Parameters["$service"].Value = _serviceId;
            return command.ExecuteNonQuery();
        }), cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    private void BindGrain(SqliteParameterCollection parameters, GrainId grainId)
    {
        parameters.AddWithValue("$service", _serviceId);
        parameters.AddWithValue("$type", grainId.Type.ToString());
        parameters.AddWithValue("$key", grainId.Key.ToString());
    }

    private Task<ReminderTableData> ReadAsync(string sql, Action<SqliteParameterCollection> bind) =>
        _database.ReadAsync(sql, bind, reader =>
        {
            var entries = new List<ReminderEntry>();
            while (reader.Read())
            {
                entries.Add(new ReminderEntry
                {
                    GrainId = GrainId.Create(reader.GetString(0), reader.GetString(1)),
                    ReminderName = reader.GetString(2),
                    StartAt = new DateTime(reader.GetInt64(3), DateTimeKind.Utc),
                    Period = TimeSpan.FromTicks(reader.GetInt64(4)),
                    ETag = reader.GetString(5),
                });
            }

            return new ReminderTableData(entries);
        });
}
