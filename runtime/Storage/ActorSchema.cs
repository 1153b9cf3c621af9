namespace Actors.Runtime;

/// <summary>
/// The tables every storage backend creates: the same names, columns and keys in SQLite and PostgreSQL.
/// Migrations are numbered and recorded, so creating them is idempotent and later versions only add.
/// </summary>
internal static class ActorSchema
{
    public static IReadOnlyList<(int Version, string Sql)> Migrations(string jsonType) =>
    [
        (1, $"""
            CREATE TABLE IF NOT EXISTS actors_grain_state (
                service_id  TEXT NOT NULL,
                grain_type  TEXT NOT NULL,
                grain_key   TEXT NOT NULL,
                state_name  TEXT NOT NULL,
                payload     {jsonType} NULL,
                version     BIGINT NOT NULL,
                modified_at BIGINT NOT NULL,
                PRIMARY KEY (service_id, grain_type, grain_key, state_name)
            );
            CREATE TABLE IF NOT EXISTS actors_reminders (
                service_id    TEXT NOT NULL,
                grain_type    TEXT NOT NULL,
                grain_key     TEXT NOT NULL,
                reminder_name TEXT NOT NULL,
                start_at      BIGINT NOT NULL,
                period_ms     BIGINT NOT NULL,
                grain_hash    INTEGER NOT NULL,
                version       BIGINT NOT NULL,
                PRIMARY KEY (service_id, grain_type, grain_key, reminder_name)
            );
            """),
        // Streams: items keyed by (stream, sequence number); the age index serves retention. Payloads are opaque text.
        (2, """
            CREATE TABLE IF NOT EXISTS actors_stream_items (
                service_id  TEXT NOT NULL,
                stream_ns   TEXT NOT NULL,
                stream_key  TEXT NOT NULL,
                seq         BIGINT NOT NULL,
                appended_at BIGINT NOT NULL,
                payload     TEXT NULL,
                PRIMARY KEY (service_id, stream_ns, stream_key, seq)
            );
            CREATE INDEX IF NOT EXISTS actors_stream_items_by_age ON actors_stream_items (service_id, stream_ns, appended_at);
            CREATE TABLE IF NOT EXISTS actors_stream_cursors (
                service_id TEXT NOT NULL,
                stream_ns  TEXT NOT NULL,
                stream_key TEXT NOT NULL,
                consumer   TEXT NOT NULL,
                seq        BIGINT NOT NULL,
                PRIMARY KEY (service_id, stream_ns, stream_key, consumer)
            );
            """),
    ];

    public const string VersionTable = """
        CREATE TABLE IF NOT EXISTS actors_schema_version (
            version    INTEGER NOT NULL PRIMARY KEY,
            applied_at BIGINT NOT NULL
        );
        """;

    /// <summary>A stable hash of the grain id (FNV-1a), kept with reminders for range ownership in a cluster.</summary>
    public static int GrainHash(GrainId grainId)
    {
        unchecked
        {
            var hash = 2166136261;
            foreach (var c in grainId.ToString())
            {
                hash = (hash ^ c) * 16777619;
            }

            return (int)hash;
        }
    }

    public static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public const string ReminderColumns = "grain_type, grain_key, reminder_name, start_at, period_ms, version";

    /// <summary>Reads rows selected as <see cref="ReminderColumns"/>.</summary>
    public static async Task<IReadOnlyList<GrainReminder>> ReadRemindersAsync(System.Data.Common.DbDataReader reader, CancellationToken cancellationToken)
    {
        var reminders = new List<GrainReminder>();
        while (await reader.ReadAsync(cancellationToken))
        {
            reminders.Add(new GrainReminder(
                new GrainId(reader.GetString(0), reader.GetString(1)), reader.GetString(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), TimeSpan.FromMilliseconds(reader.GetInt64(4)),
                Etags.Format(reader.GetInt64(5))));
        }

        return reminders;
    }
}
