namespace Actors.Extensions.AdoNet;

/// <summary>
/// The rows of <c>OrleansQuery</c>: for each key an Orleans ADO.NET provider reads, the SQL that fulfils
/// that key's contract on our tables (<see cref="PostgresSchemaV1"/>). docs/orleans-postgresql.md explains each one.
/// </summary>
/// <remarks>
/// The providers bind parameters by name (<c>@DeploymentId</c>, <c>@Version</c>, ...) and read result
/// columns by name, so columns are aliased in double quotes to the exact names the providers ask for.
/// Queries that answer "did it work" return one row with one integer column: &gt;0 yes, 0 no.
/// </remarks>
internal static class PostgresOrleansQueries
{
    private const string MemberColumns = """
        v.cluster_id AS "DeploymentId", m.address AS "Address", m.port AS "Port", m.generation AS "Generation",
        m.silo_name AS "SiloName", m.host_name AS "HostName", m.status AS "Status", m.proxy_port AS "ProxyPort",
        m.suspect_times AS "SuspectTimes", m.start_time AS "StartTime", m.i_am_alive_time AS "IAmAliveTime",
        v.version AS "Version"
        """;

    // One grain's state row. NULL and '' extensions are different grains (see the unique index).
    private const string GrainStateKey = """
        service_id = @ServiceId AND grain_type_hash = @GrainTypeHash AND grain_id_hash = @GrainIdHash
        AND grain_id_n0 = @GrainIdN0 AND grain_id_n1 = @GrainIdN1 AND grain_type = @GrainTypeString
        AND coalesce(grain_id_extension, '') = coalesce(@GrainIdExtensionString, '')
        AND (grain_id_extension IS NULL) = (@GrainIdExtensionString IS NULL)
        """;

    private const string ReminderColumns = """
        grain_id AS "GrainId", reminder_name AS "ReminderName", start_time AS "StartTime",
        period_ms AS "Period", version AS "Version"
        """;

    public static readonly IReadOnlyDictionary<string, string> Rows = new Dictionary<string, string>
    {
        // ---- Clustering (Orleans.Clustering.AdoNet) ----

        // Creates the cluster's version row once. 1 when this call created it, 0 when it existed.
        ["InsertMembershipVersionKey"] = """
            WITH created AS (
                INSERT INTO orleans_membership_version (cluster_id) VALUES (@DeploymentId)
                ON CONFLICT (cluster_id) DO NOTHING RETURNING 1)
            SELECT count(*)::integer FROM created
            """,

        // A silo joins: insert its row if the table version is still @Version (then version+1).
        ["InsertMembershipKey"] = """
            SELECT orleans_insert_member(@DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
                                         @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version)
            """,

        // Status / suspicion change of one member, under the same version CAS.
        ["UpdateMembershipKey"] = """
            SELECT orleans_update_member(@DeploymentId, @Address, @Port, @Generation,
                                         @Status, @SuspectTimes, @IAmAliveTime, @Version)
            """,

        // The heartbeat. Deliberately no version bump: it is not a membership change.
        ["UpdateIAmAlivetimeKey"] = """
            UPDATE orleans_membership SET i_am_alive_time = @IAmAliveTime
             WHERE cluster_id = @DeploymentId AND address = @Address AND port = @Port AND generation = @Generation
            """,

        // One member plus the table version. The outer join yields the version even when the member is absent
        // (Orleans tells "no member" by a NULL StartTime); no row at all means the cluster has no version row.
        ["MembershipReadRowKey"] = $"""
            SELECT {MemberColumns}
              FROM orleans_membership_version v
              LEFT JOIN orleans_membership m
                ON m.cluster_id = v.cluster_id AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
             WHERE v.cluster_id = @DeploymentId
            """,

        // Every member plus the table version, read in one snapshot.
        ["MembershipReadAllKey"] = $"""
            SELECT {MemberColumns}
              FROM orleans_membership_version v
              LEFT JOIN orleans_membership m ON m.cluster_id = v.cluster_id
             WHERE v.cluster_id = @DeploymentId
            """,

        // Drops a whole cluster; its member rows go with the version row (ON DELETE CASCADE).
        ["DeleteMembershipTableEntriesKey"] = """
            DELETE FROM orleans_membership_version WHERE cluster_id = @DeploymentId
            """,

        // Gateways for clients: members in @Status (Active) that accept clients.
        ["GatewaysQueryKey"] = """
            SELECT address AS "Address", proxy_port AS "ProxyPort", generation AS "Generation"
              FROM orleans_membership
             WHERE cluster_id = @DeploymentId AND status = @Status AND proxy_port > 0
            """,

        // Forgets non-Active members whose last heartbeat is older than @IAmAliveTime (defunct silos).
        ["CleanupDefunctSiloEntriesKey"] = """
            DELETE FROM orleans_membership
             WHERE cluster_id = @DeploymentId AND i_am_alive_time < @IAmAliveTime AND status <> 3
            """,

        // ---- Grain persistence (Orleans.Persistence.AdoNet) ----

        // Payload and version of one grain; no row when it never wrote.
        ["ReadFromStorageKey"] = $"""
            SELECT payload AS "PayloadBinary", version AS "Version"
              FROM orleans_grain_state
             WHERE {GrainStateKey}
            """,

        // No @GrainStateVersion: first write, insert version 1 unless a row exists.
        // With one: update only if the stored version is still that one, to version+1.
        // Returns the new version, or NULL when nothing changed: the provider turns that into
        // InconsistentStateException (someone else wrote since this activation read).
        ["WriteToStorageKey"] = $"""
            WITH updated AS (
                UPDATE orleans_grain_state
                   SET payload = @PayloadBinary, version = version + 1, modified_at = now()
                 WHERE @GrainStateVersion IS NOT NULL AND version = @GrainStateVersion AND {GrainStateKey}
                RETURNING version),
            inserted AS (
                INSERT INTO orleans_grain_state
                    (service_id, grain_type, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1,
                     grain_id_extension, payload, version)
                SELECT @ServiceId, @GrainTypeString, @GrainTypeHash, @GrainIdHash, @GrainIdN0, @GrainIdN1,
                       @GrainIdExtensionString, @PayloadBinary, 1
                 WHERE @GrainStateVersion IS NULL
                ON CONFLICT DO NOTHING
                RETURNING version)
            SELECT (SELECT version FROM updated UNION ALL SELECT version FROM inserted LIMIT 1) AS "NewGrainStateVersion"
            """,

        // Clear keeps the row (payload NULL) so the version keeps counting; same CAS as a write.
        ["ClearStorageKey"] = $"""
            UPDATE orleans_grain_state
               SET payload = NULL, version = version + 1, modified_at = now()
             WHERE version = @GrainStateVersion AND {GrainStateKey}
            RETURNING version AS "NewGrainStateVersion"
            """,

        // Clear with DeleteStateOnClear: removes the row under the same CAS; returns version+1 as the
        // provider's "something changed" signal (it then forgets the ETag).
        ["DeleteStorageKey"] = $"""
            DELETE FROM orleans_grain_state
             WHERE version = @GrainStateVersion AND {GrainStateKey}
            RETURNING version + 1 AS "NewGrainStateVersion"
            """,

        // ---- Reminders (Orleans.Reminders.AdoNet) ----

        ["ReadReminderRowsKey"] = $"""
            SELECT {ReminderColumns} FROM orleans_reminders
             WHERE service_id = @ServiceId AND grain_id = @GrainId
            """,

        ["ReadReminderRowKey"] = $"""
            SELECT {ReminderColumns} FROM orleans_reminders
             WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
            """,

        // Hash range (@BeginHash, @EndHash] that does not wrap (the provider picks this when begin < end, as ints).
        ["ReadRangeRows1Key"] = $"""
            SELECT {ReminderColumns} FROM orleans_reminders
             WHERE service_id = @ServiceId AND grain_hash > @BeginHash AND grain_hash <= @EndHash
            """,

        // Hash range that wraps past the end of the ring (and begin = end: the whole ring).
        ["ReadRangeRows2Key"] = $"""
            SELECT {ReminderColumns} FROM orleans_reminders
             WHERE service_id = @ServiceId AND (grain_hash > @BeginHash OR grain_hash <= @EndHash)
            """,

        // Insert at version 0 or replace and bump; returns the new version, which is the reminder's ETag.
        ["UpsertReminderRowKey"] = """
            INSERT INTO orleans_reminders (service_id, grain_id, reminder_name, start_time, period_ms, grain_hash, version)
            VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
            ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
               SET start_time = excluded.start_time, period_ms = excluded.period_ms,
                   grain_hash = excluded.grain_hash, version = orleans_reminders.version + 1
            RETURNING version AS "Version"
            """,

        // Deletes one reminder only if its ETag still matches: 1 deleted, 0 not.
        ["DeleteReminderRowKey"] = """
            WITH deleted AS (
                DELETE FROM orleans_reminders
                 WHERE service_id = @ServiceId AND grain_id = @GrainId AND reminder_name = @ReminderName
                   AND version = @Version
                RETURNING 1)
            SELECT count(*)::integer FROM deleted
            """,

        // Every reminder of the service (used by tests and tooling).
        ["DeleteReminderRowsKey"] = """
            DELETE FROM orleans_reminders WHERE service_id = @ServiceId
            """,
    };
}
