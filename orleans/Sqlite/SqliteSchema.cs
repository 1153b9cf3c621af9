using System.Globalization;
using Microsoft.Data.Sqlite;
using Orleans.Runtime;

namespace Actors.Extensions.Sqlite;

/// <summary>
/// The tables of grain state and reminders, created at start inside one write transaction so two processes
/// opening the same file cannot both create them. <c>storage_schema</c> holds one row per applied version;
/// a file whose version is newer than this build knows is refused rather than half-understood.
/// </summary>
internal static class SqliteSchema
{
    public const int CurrentVersion = 1;

    /// <summary>The newest layout of the retired runtime's tables (actors_schema_version) that the import understands.</summary>
    public const int RetiredRuntimeVersion = 2;

    private const string VersionTable = """
        CREATE TABLE IF NOT EXISTS storage_schema (
            version     INTEGER NOT NULL PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at  TEXT NOT NULL
        );
        """;

    // Payloads are UTF-8 JSON (NULL once cleared: the row stays so its version keeps rising and a stale
    // ETag from before the clear still fails). modified_at is Unix milliseconds, for people reading the file;
    // a reminder's start_at (UTC) and period are ticks, lossless for Orleans' DateTime and TimeSpan.
    private const string Version1 = """
        CREATE TABLE grain_state (
            service_id  TEXT NOT NULL,
            grain_type  TEXT NOT NULL,
            grain_key   TEXT NOT NULL,
            state_name  TEXT NOT NULL,
            payload     BLOB NULL,
            version     INTEGER NOT NULL,
            modified_at INTEGER NOT NULL,
            PRIMARY KEY (service_id, grain_type, grain_key, state_name)
        ) WITHOUT ROWID;
        CREATE TABLE grain_reminders (
            service_id    TEXT NOT NULL,
            grain_type    TEXT NOT NULL,
            grain_key     TEXT NOT NULL,
            reminder_name TEXT NOT NULL,
            grain_hash    INTEGER NOT NULL,
            start_at      INTEGER NOT NULL,
            period        INTEGER NOT NULL,
            etag          TEXT NOT NULL,
            PRIMARY KEY (service_id, grain_type, grain_key, reminder_name)
        ) WITHOUT ROWID;
        CREATE INDEX grain_reminders_by_hash ON grain_reminders (service_id, grain_hash);
        """;

    /// <summary>What creating the schema found and did, for the start-up log.</summary>
    public sealed record Outcome(int FoundVersion, int ImportedStates, int ImportedReminders);

    public static Outcome Ensure(SqliteConnection connection, string databasePath)
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, transaction, VersionTable);
        var found = Scalar(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM storage_schema");
        if (found > CurrentVersion)
        {
            throw new SqliteSchemaException(
                $"The database '{databasePath}' has grain storage schema version {found}, newer than version {CurrentVersion} that this build " +
                "understands: it was written by a newer build. Run that build (or newer) against it, or point DatabasePath at another file. " +
                "The file was left unchanged.");
        }

        var outcome = new Outcome((int)found, 0, 0);
        if (found < 1)
        {
            Execute(connection, transaction, Version1);
            var (states, reminders) = ImportRetiredRuntime(connection, transaction, databasePath);
            var description = states + reminders > 0
                ? $"grain_state and grain_reminders; imported {states} states and {reminders} reminders from the retired runtime's actors_* tables"
                : "grain_state and grain_reminders";
            using var record = Command(connection, transaction,
                "INSERT INTO storage_schema (version, description, applied_at) VALUES (1, $d, $a)");
            record.Parameters.AddWithValue("$d", description);
            record.Parameters.AddWithValue("$a", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            record.ExecuteNonQuery();
            outcome = outcome with { ImportedStates = states, ImportedReminders = reminders };
        }

        transaction.Commit();
        return outcome;
    }

    /// <summary>
    /// The retired runtime kept state and reminders in actors_grain_state and actors_reminders of the same file,
    /// keyed by grain type name and key exactly as an Orleans GrainId's type and key are (the [GrainType] names
    /// are kept), so its rows are copied once, in the transaction that creates our tables. Its tables are left
    /// in place, untouched: nothing is deleted, and an operator can drop them once satisfied.
    /// </summary>
    private static (int States, int Reminders) ImportRetiredRuntime(SqliteConnection connection, SqliteTransaction transaction, string databasePath)
    {
        if (!TableExists(connection, transaction, "actors_grain_state"))
        {
            return (0, 0);
        }

        var retiredVersion = TableExists(connection, transaction, "actors_schema_version")
            ? Scalar(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM actors_schema_version")
            : 0;
        if (retiredVersion > RetiredRuntimeVersion)
        {
            throw new SqliteSchemaException(
                $"The database '{databasePath}' holds the retired runtime's tables at version {retiredVersion}, newer than version " +
                $"{RetiredRuntimeVersion} that this build can import. Start the newest build of the retired runtime once to confirm the data, " +
                "then copy the file aside and start this build with DatabasePath pointing at a new file, or ask for an importer of that version. " +
                "The file was left unchanged.");
        }

        using var copyStates = Command(connection, transaction, """
            INSERT INTO grain_state (service_id, grain_type, grain_key, state_name, payload, version, modified_at)
            SELECT service_id, grain_type, grain_key, state_name, CAST(payload AS BLOB), version, modified_at
            FROM actors_grain_state
            """);
        var states = copyStates.ExecuteNonQuery();

        var reminders = 0;
        if (TableExists(connection, transaction, "actors_reminders"))
        {
            reminders = ImportRetiredReminders(connection, transaction);
        }

        return (states, reminders);
    }

    private static int ImportRetiredReminders(SqliteConnection connection, SqliteTransaction transaction)
    {
        var rows = new List<(string Service, string Type, string Key, string Name, long StartMs, long PeriodMs)>();
        using (var select = Command(connection, transaction,
                   "SELECT service_id, grain_type, grain_key, reminder_name, start_at, period_ms FROM actors_reminders"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5)));
            }
        }

        // Orleans spreads reminders over silos by GrainId.GetUniformHashCode(), which SQL cannot compute: done here.
        using var insert = Command(connection, transaction, """
            INSERT INTO grain_reminders (service_id, grain_type, grain_key, reminder_name, grain_hash, start_at, period, etag)
            VALUES ($s, $t, $k, $r, $h, $a, $p, $e)
            """);
        foreach (var row in rows)
        {
            var grainId = GrainId.Create(row.Type, row.Key);
            insert.Parameters.Clear();
            insert.Parameters.AddWithValue("$s", row.Service);
            insert.Parameters.AddWithValue("$t", row.Type);
            insert.Parameters.AddWithValue("$k", row.Key);
            insert.Parameters.AddWithValue("$r", row.Name);
            insert.Parameters.AddWithValue("$h", (long)grainId.GetUniformHashCode());
            insert.Parameters.AddWithValue("$a", DateTimeOffset.FromUnixTimeMilliseconds(row.StartMs).UtcTicks);
            insert.Parameters.AddWithValue("$p", TimeSpan.FromMilliseconds(row.PeriodMs).Ticks);
            insert.Parameters.AddWithValue("$e", SqliteEtags.NewReminderEtag());
            insert.ExecuteNonQuery();
        }

        return rows.Count;
    }

    private static bool TableExists(SqliteConnection connection, SqliteTransaction transaction, string table)
    {
        using var command = Command(connection, transaction, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $n");
        command.Parameters.AddWithValue("$n", table);
        return (long)command.ExecuteScalar()! > 0;
    }

    private static long Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = Command(connection, transaction, sql);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = Command(connection, transaction, sql);
        command.ExecuteNonQuery();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }
}

/// <summary>The database cannot be used as it is; the message says what to do. Nothing was changed.</summary>
public sealed class SqliteSchemaException(string message) : Exception(message);
