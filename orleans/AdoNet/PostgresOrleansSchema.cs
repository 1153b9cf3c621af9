using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Actors.Extensions.AdoNet;

/// <summary>
/// Creates (and later migrates) the tables and <c>OrleansQuery</c> rows that Orleans' ADO.NET clustering,
/// persistence and reminder providers need on PostgreSQL. Orleans ships no SQL and never creates tables.
/// </summary>
/// <remarks>
/// Safe to run from every silo and client at every start: one transaction holds a transaction-scoped
/// advisory lock, reads the applied version from <c>orleans_schema_migrations</c>, and applies only the
/// missing migrations. Concurrent starters wait for the lock and then find nothing to do.
/// PostgreSQL's DDL is transactional, so a failed migration leaves nothing half-created.
/// </remarks>
public static partial class PostgresOrleansSchema
{
    /// <summary>The schema version this build writes and understands.</summary>
    public const int CurrentVersion = 1;

    // An arbitrary constant shared by every process that installs this schema into a database.
    private const long AdvisoryLockKey = 0x4f726c65616e7301; // "Orleans" + 1

    private static readonly (int Version, string Description, Func<string> Sql)[] Migrations =
    [
        (1, "membership, grain state, reminders and their OrleansQuery rows", () => PostgresSchemaV1.Ddl + InsertQueryRows()),
    ];

    /// <summary>Brings the database up to <see cref="CurrentVersion"/>; does nothing when it already is.</summary>
    /// <returns>The version found before this call (0 for an empty database).</returns>
    /// <exception cref="InvalidOperationException">
    /// The database was written by a newer build, or holds Orleans' own scripts (an <c>OrleansQuery</c>
    /// table without our version row): nothing is changed.
    /// </exception>
    public static async Task<int> EnsureCreatedAsync(string connectionString, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        logger ??= NullLogger.Instance;

        var connection = new NpgsqlConnection(connectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                await ExecuteAsync(connection, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, """
                    CREATE TABLE IF NOT EXISTS orleans_schema_migrations
                    (
                        version     integer     NOT NULL PRIMARY KEY,
                        description text        NOT NULL,
                        applied_at  timestamptz NOT NULL DEFAULT now()
                    )
                    """, cancellationToken).ConfigureAwait(false);

                var found = await ScalarAsync<int>(connection, "SELECT coalesce(max(version), 0) FROM orleans_schema_migrations", cancellationToken).ConfigureAwait(false);
                if (found > CurrentVersion)
                {
                    throw new InvalidOperationException(
                        $"The Orleans schema in this PostgreSQL database is version {found}, written by a newer build; this build knows up to version {CurrentVersion}. "
                        + "Run the newer build (schemas are only migrated forward), or point this one at another database.");
                }
                if (found == CurrentVersion)
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    LogUpToDate(logger, found);
                    return found;
                }
                if (found == 0 && await ScalarAsync<bool>(connection, "SELECT to_regclass('orleansquery') IS NOT NULL", cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException(
                        "This PostgreSQL database already has an OrleansQuery table but no orleans_schema_migrations version: it was set up with other scripts "
                        + "(Orleans' own PostgreSQL-*.sql?). Its queries point at other tables, so installing ours would hide that data. "
                        + "Use an empty database, or drop the old Orleans tables after moving what you need.");
                }

                foreach (var (version, description, sql) in Migrations.Where(m => m.Version > found))
                {
                    await ExecuteAsync(connection, sql(), cancellationToken).ConfigureAwait(false);
                    var record = new NpgsqlCommand("INSERT INTO orleans_schema_migrations (version, description) VALUES (@version, @description)", connection);
                    await using (record.ConfigureAwait(false))
                    {
                        record.Parameters.AddWithValue("version", version);
                        record.Parameters.AddWithValue("description", description);
                        await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                    LogApplied(logger, version, description);
                }
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return found;
            }
        }
    }

    /// <summary>The query keys this schema provides, for diagnostics and tests.</summary>
    public static IReadOnlyCollection<string> QueryKeys => [.. PostgresOrleansQueries.Rows.Keys];

    private static string InsertQueryRows()
    {
        // Dollar quoting keeps the SQL text readable; no query contains the tag.
        const string Tag = "$orleans_query$";
        var rows = PostgresOrleansQueries.Rows.Select(row =>
        {
            if (row.Value.Contains(Tag, StringComparison.Ordinal)) throw new InvalidOperationException($"Query {row.Key} contains {Tag}.");
            return $"('{row.Key}', {Tag}{row.Value}{Tag})";
        });
        return "\nINSERT INTO orleansquery (querykey, querytext) VALUES\n" + string.Join(",\n", rows) + ";";
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        // The SQL is this class's own constants, never input.
#pragma warning disable CA2100
        var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        await using (command.ConfigureAwait(false))
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
#pragma warning disable CA2100
        var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
        await using (command.ConfigureAwait(false))
        {
            return (T)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Orleans PostgreSQL schema: applied version {Version} ({Description})")]
    private static partial void LogApplied(ILogger logger, int version, string description);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Orleans PostgreSQL schema: already at version {Version}")]
    private static partial void LogUpToDate(ILogger logger, int version);
}
