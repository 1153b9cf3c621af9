using Microsoft.Data.Sqlite;

namespace Actors.Extensions.Bench;

/// <summary>
/// The table and the OrleansQuery rows that Orleans' ADO.NET grain storage needs on SQLite (Orleans ships no SQL
/// in its packages). Written here after the contract of Orleans' Sqlite-Persistence.sql: the same table, the
/// same parameters and result columns, the same statements per operation, so the baseline is Orleans' provider
/// as its users would run it. WAL is switched on for it too, which only helps it.
/// </summary>
internal static class OrleansSqliteSchema
{
    private const string KeyMatch = """
        GrainIdHash = @GrainIdHash AND GrainTypeHash = @GrainTypeHash
        AND GrainIdN0 = @GrainIdN0 AND GrainIdN1 = @GrainIdN1
        AND GrainTypeString = @GrainTypeString
        AND (GrainIdExtensionString = @GrainIdExtensionString OR (GrainIdExtensionString IS NULL AND @GrainIdExtensionString IS NULL))
        AND ServiceId = @ServiceId
        """;

    private static readonly string Write = $"""
        BEGIN TRANSACTION;
        CREATE TEMP TABLE IF NOT EXISTS OrleansStorageWriteState (TotalChangesBefore INT NOT NULL);
        DELETE FROM OrleansStorageWriteState;
        INSERT INTO OrleansStorageWriteState (TotalChangesBefore) VALUES (total_changes() + 1);
        UPDATE OrleansStorage SET PayloadBinary = @PayloadBinary, ModifiedOn = datetime('now'), Version = Version + 1
        WHERE {KeyMatch} AND Version = @GrainStateVersion;
        INSERT INTO OrleansStorage (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
        SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, @GrainIdExtensionString, @ServiceId, @PayloadBinary, datetime('now'), 1
        WHERE changes() = 0 AND @GrainStateVersion IS NULL AND NOT EXISTS (SELECT 1 FROM OrleansStorage WHERE {KeyMatch});
        SELECT Version AS NewGrainStateVersion FROM OrleansStorage
        WHERE total_changes() > (SELECT TotalChangesBefore FROM OrleansStorageWriteState LIMIT 1) AND {KeyMatch};
        SELECT @GrainStateVersion AS NewGrainStateVersion
        WHERE total_changes() = (SELECT TotalChangesBefore FROM OrleansStorageWriteState LIMIT 1) AND @GrainStateVersion IS NOT NULL;
        COMMIT;
        """;

    private static readonly string Read = $"SELECT PayloadBinary, Version AS Version FROM OrleansStorage WHERE {KeyMatch} LIMIT 1;";

    private static readonly string Clear = $"""
        UPDATE OrleansStorage SET PayloadBinary = NULL, ModifiedOn = datetime('now'), Version = Version + 1
        WHERE {KeyMatch} AND Version = @GrainStateVersion;
        SELECT Version AS NewGrainStateVersion FROM OrleansStorage WHERE changes() > 0 AND {KeyMatch};
        SELECT @GrainStateVersion AS NewGrainStateVersion WHERE changes() = 0 AND @GrainStateVersion IS NOT NULL;
        """;

    public static void Create(string databasePath)
    {
        using var connection = new SqliteConnection($"Data Source={databasePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            PRAGMA journal_mode=WAL;
            CREATE TABLE OrleansQuery (QueryKey TEXT PRIMARY KEY, QueryText TEXT NOT NULL);
            CREATE TABLE OrleansStorage (
                GrainIdHash INT NOT NULL, GrainIdN0 BIGINT NOT NULL, GrainIdN1 BIGINT NOT NULL, GrainTypeHash INT NOT NULL,
                GrainTypeString NVARCHAR(512) NOT NULL, GrainIdExtensionString NVARCHAR(512) NULL, ServiceId NVARCHAR(150) NOT NULL,
                PayloadBinary BLOB NULL, ModifiedOn DATETIME NOT NULL, Version INT NULL);
            CREATE INDEX IX_OrleansStorage ON OrleansStorage (GrainIdHash, GrainTypeHash);
            INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES ('WriteToStorageKey', $write), ('ReadFromStorageKey', $read), ('ClearStorageKey', $clear);
            """;
        command.Parameters.AddWithValue("$write", Write);
        command.Parameters.AddWithValue("$read", Read);
        command.Parameters.AddWithValue("$clear", Clear);
        command.ExecuteNonQuery();
    }
}
