using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Actors.Extensions.Sqlite;

/// <summary>How far a commit is flushed before the write that made it is acknowledged.</summary>
public enum SqliteDurability
{
    /// <summary>
    /// PRAGMA synchronous=NORMAL in WAL mode: a commit is in the operating system's cache when acknowledged.
    /// It survives the process being killed (SIGKILL, a crash), not a power loss or kernel panic.
    /// </summary>
    Normal,

    /// <summary>
    /// PRAGMA synchronous=FULL: the WAL is fsynced before a commit is acknowledged, so it survives a power loss too.
    /// Group commit pays one fsync per batch, not per write.
    /// </summary>
    Full,
}

/// <summary>Settings shared by everything that writes to one SQLite database file.</summary>
public abstract class SqliteDatabaseOptions
{
    /// <summary>The database file; created with its directory when missing. Example: ./.data/grains.db</summary>
    public string DatabasePath { get; set; } = "";

    /// <summary>
    /// Full by default: group commit amortizes the fsync over every write in the batch, so the stronger
    /// promise costs little throughput under load (see the storage bench) and only latency when idle.
    /// </summary>
    public SqliteDurability Durability { get; set; } = SqliteDurability.Full;

    /// <summary>The most writes committed in one transaction. Example: 1024.</summary>
    public int MaxBatchSize { get; set; } = 1024;

    internal IEnumerable<string> Problems(string section)
    {
        if (string.IsNullOrWhiteSpace(DatabasePath))
        {
            yield return $"{section}:DatabasePath must name the SQLite database file (for example \"./.data/grains.db\").";
        }
        else if (DatabasePath.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            yield return $"{section}:DatabasePath \"{DatabasePath}\" is not a valid path (for example \"./.data/grains.db\").";
        }

        if (!Enum.IsDefined(Durability))
        {
            yield return $"{section}:Durability must be Normal or Full (for example \"Full\"), not {(int)Durability}.";
        }

        if (MaxBatchSize is < 1 or > 100_000)
        {
            yield return $"{section}:MaxBatchSize must be between 1 and 100000 (for example 1024), not {MaxBatchSize}.";
        }
    }
}

/// <summary>Settings of one named <see cref="SqliteGrainStorage"/> provider.</summary>
public sealed class SqliteGrainStorageOptions : SqliteDatabaseOptions
{
    /// <summary>
    /// How state is written as JSON. The web defaults (camelCase, case-insensitive reads) are what the
    /// retired runtime wrote, so its rows read back unchanged. Unknown members are skipped on read and
    /// missing ones keep their defaults, which is what makes adding a field to a state type safe.
    /// </summary>
    public JsonSerializerOptions JsonSerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);
}

/// <summary>Settings of the <see cref="SqliteReminderTable"/>.</summary>
public sealed class SqliteReminderTableOptions : SqliteDatabaseOptions;

internal sealed class SqliteGrainStorageOptionsValidator : IValidateOptions<SqliteGrainStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteGrainStorageOptions options)
    {
        var section = $"SqliteGrainStorage[{name}]";
        var problems = options.Problems(section).ToList();
        if (options.JsonSerializerOptions is null)
        {
            problems.Add($"{section}:JsonSerializerOptions must be set (for example new JsonSerializerOptions(JsonSerializerDefaults.Web)).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

internal sealed class SqliteReminderTableOptionsValidator : IValidateOptions<SqliteReminderTableOptions>
{
    public ValidateOptionsResult Validate(string? name, SqliteReminderTableOptions options)
    {
        var problems = options.Problems("SqliteReminders").ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
