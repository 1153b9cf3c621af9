using System.Globalization;
using Npgsql;

namespace Actors.Runtime;

/// <summary>One silo's row, as in Orleans' ADO.NET membership table.</summary>
public sealed record MembershipEntry(
    SiloAddress Silo,
    SiloStatus Status,
    int GatewayPort,
    string SiloName,
    string HostName,
    IReadOnlyList<(SiloAddress Voter, DateTimeOffset At)> Suspicions,
    DateTimeOffset StartTime,
    DateTimeOffset IAmAliveTime)
{
    public string FormatSuspicions() =>
        string.Join("|", Suspicions.Select(s => $"{s.Voter},{s.At.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}"));

    public static IReadOnlyList<(SiloAddress, DateTimeOffset)> ParseSuspicions(string? text) =>
        string.IsNullOrEmpty(text)
            ? []
            : text.Split('|').Select(part =>
            {
                var comma = part.LastIndexOf(',');
                return (SiloAddress.Parse(part[..comma]),
                    DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(part[(comma + 1)..], CultureInfo.InvariantCulture)));
            }).ToArray();
}

/// <summary>The table and the version it was read at; every row change must name that version.</summary>
public sealed record MembershipTableData(IReadOnlyList<MembershipEntry> Entries, long Version);

/// <summary>
/// Cluster membership in PostgreSQL. Every row change is a compare-and-swap on the cluster's version row, so
/// two silos acting on the same view cannot both win; heartbeats (I-am-alive) do not bump the version.
/// </summary>
public sealed class PostgresMembershipTable(string connectionString, string clusterId) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("""
            SELECT pg_advisory_xact_lock(7283402);
            CREATE TABLE IF NOT EXISTS actors_cluster_version (
                cluster_id TEXT NOT NULL PRIMARY KEY,
                version    BIGINT NOT NULL,
                changed_at BIGINT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS actors_cluster_members (
                cluster_id     TEXT NOT NULL,
                address        TEXT NOT NULL,
                port           INTEGER NOT NULL,
                generation     BIGINT NOT NULL,
                silo_name      TEXT NOT NULL,
                host_name      TEXT NOT NULL,
                status         INTEGER NOT NULL,
                gateway_port   INTEGER NOT NULL,
                suspect_times  TEXT NULL,
                start_time     BIGINT NOT NULL,
                i_am_alive     BIGINT NOT NULL,
                PRIMARY KEY (cluster_id, address, port, generation)
            );
            INSERT INTO actors_cluster_version (cluster_id, version, changed_at) VALUES (@c, 0, 0) ON CONFLICT DO NOTHING;
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("c", clusterId);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<MembershipTableData> ReadAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        long version;
        await using (var versionCommand = new NpgsqlCommand("SELECT version FROM actors_cluster_version WHERE cluster_id = @c", connection, transaction))
        {
            versionCommand.Parameters.AddWithValue("c", clusterId);
            version = (long)(await versionCommand.ExecuteScalarAsync(cancellationToken))!;
        }

        var entries = new List<MembershipEntry>();
        await using (var command = new NpgsqlCommand("""
            SELECT address, port, generation, silo_name, host_name, status, gateway_port, suspect_times, start_time, i_am_alive
            FROM actors_cluster_members WHERE cluster_id = @c
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("c", clusterId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new MembershipEntry(
                    new SiloAddress(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2)),
                    (SiloStatus)reader.GetInt32(5), reader.GetInt32(6), reader.GetString(3), reader.GetString(4),
                    MembershipEntry.ParseSuspicions(reader.IsDBNull(7) ? null : reader.GetString(7)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9))));
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new MembershipTableData(entries, version);
    }

    /// <summary>Inserts or replaces a row if the table is still at <paramref name="expectedVersion"/>.</summary>
    /// <returns>False when another silo changed the table first: re-read and decide again.</returns>
    public async Task<bool> UpsertAsync(MembershipEntry entry, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var bump = new NpgsqlCommand(
            "UPDATE actors_cluster_version SET version = version + 1, changed_at = @now WHERE cluster_id = @c AND version = @v", connection, transaction))
        {
            bump.Parameters.AddWithValue("c", clusterId);
            bump.Parameters.AddWithValue("v", expectedVersion);
            bump.Parameters.AddWithValue("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (await bump.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                return false;
            }
        }

        await using (var command = new NpgsqlCommand("""
            INSERT INTO actors_cluster_members
                (cluster_id, address, port, generation, silo_name, host_name, status, gateway_port, suspect_times, start_time, i_am_alive)
            VALUES (@c, @a, @p, @g, @n, @h, @s, @gw, @sus, @st, @alive)
            ON CONFLICT (cluster_id, address, port, generation) DO UPDATE SET
                status = excluded.status, gateway_port = excluded.gateway_port, suspect_times = excluded.suspect_times,
                i_am_alive = GREATEST(actors_cluster_members.i_am_alive, excluded.i_am_alive)
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("c", clusterId);
            command.Parameters.AddWithValue("a", entry.Silo.Host);
            command.Parameters.AddWithValue("p", entry.Silo.Port);
            command.Parameters.AddWithValue("g", entry.Silo.Generation);
            command.Parameters.AddWithValue("n", entry.SiloName);
            command.Parameters.AddWithValue("h", entry.HostName);
            command.Parameters.AddWithValue("s", (int)entry.Status);
            command.Parameters.AddWithValue("gw", entry.GatewayPort);
            command.Parameters.AddWithValue("sus", (object?)(entry.Suspicions.Count == 0 ? null : entry.FormatSuspicions()) ?? DBNull.Value);
            command.Parameters.AddWithValue("st", entry.StartTime.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("alive", entry.IAmAliveTime.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The heartbeat: touches only this silo's I-am-alive time, without a version change.</summary>
    public async Task UpdateIAmAliveAsync(SiloAddress silo, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "UPDATE actors_cluster_members SET i_am_alive = @now WHERE cluster_id = @c AND address = @a AND port = @p AND generation = @g");
        command.Parameters.AddWithValue("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("c", clusterId);
        command.Parameters.AddWithValue("a", silo.Host);
        command.Parameters.AddWithValue("p", silo.Port);
        command.Parameters.AddWithValue("g", silo.Generation);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
