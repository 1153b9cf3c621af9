using System.Globalization;
using Orleans.Storage;

namespace Actors.Extensions.Sqlite;

/// <summary>Where one named piece of grain state lives: the primary key of grain_state.</summary>
internal readonly record struct SqliteStateKey(string ServiceId, string GrainType, string GrainKey, string StateName)
{
    public override string ToString() => $"{GrainType}/{GrainKey} [{StateName}]";
}

/// <summary>ETags: a grain state's ETag is its row version (rows are never deleted, so versions never repeat);
/// a reminder's is random, since a removed and re-added reminder starts a new row.</summary>
internal static class SqliteEtags
{
    public static string Format(long version) => version.ToString(CultureInfo.InvariantCulture);

    public static long? ParseVersion(string? etag, SqliteStateKey key) =>
        etag is null ? null
        : long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version
        : throw new InconsistentStateException($"The ETag '{etag}' of the state {key} was not written by the SQLite grain storage.", null, etag);

    public static string NewReminderEtag() => Guid.NewGuid().ToString("N");
}

/// <summary>
/// Writes (or, with a null payload, clears) a state if its version is still the one the caller read:
/// a compare-and-swap on the row version. Anything else changes nothing and answers InconsistentStateException.
/// </summary>
internal sealed class SqliteStateWrite(SqliteStateKey key, byte[]? payload, long? expectedVersion) : SqliteWrite<long?>
{
    private const string KeyFilter = "service_id = $service AND grain_type = $type AND grain_key = $key AND state_name = $name";

    private const string Insert = """
        INSERT INTO grain_state (service_id, grain_type, grain_key, state_name, payload, version, modified_at)
        VALUES ($service, $type, $key, $name, $payload, 1, $modified) ON CONFLICT DO NOTHING
        """;

    private const string Update =
        $"UPDATE grain_state SET payload = $payload, version = version + 1, modified_at = $modified WHERE {KeyFilter} AND version = $version";

    private const string SelectVersion = $"SELECT version FROM grain_state WHERE {KeyFilter}";

    /// <returns>The new version; null when a clear found nothing to clear.</returns>
    protected override long? Run(SqliteWriteCommands commands)
    {
        if (expectedVersion is null && payload is null)
        {
            // Clearing a state that was never written is a no-op, unless someone wrote it meanwhile.
            var current = CurrentVersion(commands);
            return current is null ? null : throw Stale(current);
        }

        var command = commands.Get(expectedVersion is null ? Insert : Update);
        var parameters = command.Parameters;
        parameters["$service"].Value = key.ServiceId;
        parameters["$type"].Value = key.GrainType;
        parameters["$key"].Value = key.GrainKey;
        parameters["$name"].Value = key.StateName;
        parameters["$payload"].Value = (object?)payload ?? DBNull.Value;
        parameters["$modified"].Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (expectedVersion is { } expected)
        {
            parameters["$version"].Value = expected;
        }

        return command.ExecuteNonQuery() == 1 ? (expectedVersion ?? 0) + 1 : throw Stale(CurrentVersion(commands));
    }

    private long? CurrentVersion(SqliteWriteCommands commands)
    {
        var command = commands.Get(SelectVersion);
        command.Parameters["$service"].Value = key.ServiceId;
        command.Parameters["$type"].Value = key.GrainType;
        command.Parameters["$key"].Value = key.GrainKey;
        command.Parameters["$name"].Value = key.StateName;
        return command.ExecuteScalar() is long version ? version : null;
    }

    // Orleans' naming: StoredEtag is what storage holds, CurrentEtag what the activation tried to write over.
    private InconsistentStateException Stale(long? stored)
    {
        var storedEtag = stored is { } s ? SqliteEtags.Format(s) : null;
        var currentEtag = expectedVersion is { } e ? SqliteEtags.Format(e) : null;
        return new InconsistentStateException(
            $"The state {key} was changed by another writer: this activation expected version {currentEtag ?? "none"}, " +
            $"storage holds {storedEtag ?? "none"}. The write was not applied.",
            storedEtag, currentEtag);
    }
}
