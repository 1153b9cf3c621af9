namespace Actors.Extensions.AdoNet;

/// <summary>
/// Version 1 of the schema behind Orleans' ADO.NET providers on PostgreSQL: the tables and the two
/// membership functions. The query rows the providers read live in <see cref="PostgresOrleansQueries"/>.
/// </summary>
/// <remarks>
/// Written for this project from the providers' contract (parameter names, result columns, return
/// values), not taken from Orleans' scripts. Differences that matter: every table has a real unique key
/// (Orleans' storage table has none, so two racing first writes could both insert), membership rows go
/// away with their cluster's version row (ON DELETE CASCADE), and snake_case names throughout.
/// </remarks>
internal static class PostgresSchemaV1
{
    public const string Ddl = """
        CREATE TABLE IF NOT EXISTS orleansquery
        (
            querykey  varchar(64) NOT NULL PRIMARY KEY,
            querytext text        NOT NULL
        );

        -- One row per cluster. Every change to the member rows is a compare-and-swap on version.
        CREATE TABLE orleans_membership_version
        (
            cluster_id text        NOT NULL PRIMARY KEY,
            version    integer     NOT NULL DEFAULT 0,
            changed_at timestamptz NOT NULL DEFAULT now()
        );

        -- One row per silo incarnation (address, port, generation).
        CREATE TABLE orleans_membership
        (
            cluster_id      text        NOT NULL REFERENCES orleans_membership_version (cluster_id) ON DELETE CASCADE,
            address         varchar(45) NOT NULL,
            port            integer     NOT NULL,
            generation      integer     NOT NULL,
            silo_name       text        NOT NULL,
            host_name       text        NOT NULL,
            status          integer     NOT NULL,
            proxy_port      integer     NOT NULL DEFAULT 0,
            suspect_times   text        NULL,
            start_time      timestamptz NOT NULL,
            i_am_alive_time timestamptz NOT NULL,
            PRIMARY KEY (cluster_id, address, port, generation)
        );
        CREATE INDEX orleans_membership_by_status ON orleans_membership (cluster_id, status);

        -- Grain state. version is the ETag: 1 on insert, +1 on every write or clear.
        CREATE TABLE orleans_grain_state
        (
            service_id        text        NOT NULL,
            grain_type        text        NOT NULL,
            grain_type_hash   integer     NOT NULL,
            grain_id_hash     integer     NOT NULL,
            grain_id_n0       bigint      NOT NULL,
            grain_id_n1       bigint      NOT NULL,
            grain_id_extension text       NULL,
            payload           bytea       NULL,
            version           integer     NOT NULL,
            modified_at       timestamptz NOT NULL DEFAULT now()
        );
        -- NULL and '' are different keys, and a unique index treats NULLs as distinct: hence the two expressions.
        CREATE UNIQUE INDEX orleans_grain_state_key ON orleans_grain_state
            (service_id, grain_type_hash, grain_id_hash, grain_id_n0, grain_id_n1, grain_type,
             coalesce(grain_id_extension, ''), (grain_id_extension IS NULL));

        -- Reminders. version is the ETag: 0 on insert, +1 on every upsert.
        CREATE TABLE orleans_reminders
        (
            service_id    text        NOT NULL,
            grain_id      text        NOT NULL,
            reminder_name text        NOT NULL,
            start_time    timestamptz NOT NULL,
            period_ms     bigint      NOT NULL,
            grain_hash    integer     NOT NULL,
            version       integer     NOT NULL,
            PRIMARY KEY (service_id, grain_id, reminder_name)
        );
        CREATE INDEX orleans_reminders_by_hash ON orleans_reminders (service_id, grain_hash);

        -- Join: the version CAS and the insert commit together or not at all. A duplicate member key
        -- raises unique_violation, which the handler turns into 0 after rolling the whole body back
        -- (including the version bump: the handler's block is a savepoint).
        CREATE FUNCTION orleans_insert_member(
            p_cluster_id text, p_address text, p_port integer, p_generation integer,
            p_silo_name text, p_host_name text, p_status integer, p_proxy_port integer,
            p_start_time timestamptz, p_i_am_alive_time timestamptz, p_expected_version integer)
        RETURNS integer LANGUAGE plpgsql AS $body$
        BEGIN
            UPDATE orleans_membership_version
               SET version = version + 1, changed_at = now()
             WHERE cluster_id = p_cluster_id AND version = p_expected_version;
            IF NOT FOUND THEN
                RETURN 0;
            END IF;
            INSERT INTO orleans_membership
                (cluster_id, address, port, generation, silo_name, host_name, status, proxy_port, start_time, i_am_alive_time)
            VALUES
                (p_cluster_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status,
                 coalesce(p_proxy_port, 0), p_start_time, p_i_am_alive_time);
            RETURN 1;
        EXCEPTION WHEN unique_violation THEN
            RETURN 0;
        END
        $body$;

        -- Status, suspicions and I-am-alive of one member, under the same version CAS as a join.
        CREATE FUNCTION orleans_update_member(
            p_cluster_id text, p_address text, p_port integer, p_generation integer,
            p_status integer, p_suspect_times text, p_i_am_alive_time timestamptz, p_expected_version integer)
        RETURNS integer LANGUAGE plpgsql AS $body$
        BEGIN
            UPDATE orleans_membership_version
               SET version = version + 1, changed_at = now()
             WHERE cluster_id = p_cluster_id AND version = p_expected_version;
            IF NOT FOUND THEN
                RETURN 0;
            END IF;
            UPDATE orleans_membership
               SET status = p_status, suspect_times = p_suspect_times, i_am_alive_time = p_i_am_alive_time
             WHERE cluster_id = p_cluster_id AND address = p_address AND port = p_port AND generation = p_generation;
            IF NOT FOUND THEN
                -- No such member: undo the version bump too.
                RAISE EXCEPTION 'no member row' USING ERRCODE = 'no_data_found';
            END IF;
            RETURN 1;
        EXCEPTION WHEN no_data_found THEN
            RETURN 0;
        END
        $body$;
        """;
}
