using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Actors.Extensions.Records;
using CloudDeck.GrainInterfaces.Organizations;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Organizations;

/// <summary>
/// Organizations' audit logs as rows of the record tables (<see cref="IRecordStore"/>): a grain that audits an action
/// appends one row, with no grain call and no rewrite of a growing list; the store numbers an organization's entries
/// 1, 2, 3… Before a process appends the first entry of an organization it asks that organization's
/// <see cref="IAuditLogGrain"/> to move the entries an earlier version kept in grain state into the table, so their
/// numbers come first.
/// </summary>
public sealed class AuditTrail(IRecordStore records, IOptions<Orleans.Configuration.ClusterOptions> cluster, IGrainFactory grains, TimeProvider clock)
{
    public const string Table = "audit";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    /// <summary>Organizations whose earlier entries are in the table (asked once per process).</summary>
    private readonly ConcurrentDictionary<string, bool> _migrated = new(StringComparer.Ordinal);

    private string ServiceId => cluster.Value.ServiceId;

    /// <summary>The row of one new entry, numbered when it is stored (a random key, so a retried write stores it once).</summary>
    public RecordWrite Entry(string organization, string actorUserId, string action, string target, string clientAddress) =>
        new(Table, organization, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)),
            JsonSerializer.Serialize(new AuditRecord(clock.GetUtcNow(), actorUserId, action, target, clientAddress), Json));

    /// <summary>A row of an entry kept by an earlier version, at its own number.</summary>
    public static RecordWrite Legacy(string organization, AuditEntry entry) =>
        new(Table, organization, "legacy-" + entry.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
            JsonSerializer.Serialize(new AuditRecord(entry.At, entry.ActorUserId, entry.Action, entry.Target, entry.ClientAddress), Json), entry.Sequence);

    public async Task AppendAsync(string organization, string actorUserId, string action, string target, string clientAddress)
    {
        await EnsureMigratedAsync(organization);
        await records.WriteAsync(ServiceId, [Entry(organization, actorUserId, action, target, clientAddress)], CancellationToken.None);
    }

    /// <summary>Before rows made with <see cref="Entry"/> are written with others (a deployment and its audit entry in one transaction).</summary>
    public async Task EnsureMigratedAsync(string organization)
    {
        if (_migrated.ContainsKey(organization)) return;
        await grains.GetGrain<IAuditLogGrain>(organization).Migrate();
        _migrated[organization] = true;
    }

    public Task WriteAsync(IReadOnlyList<RecordWrite> writes) => records.WriteAsync(ServiceId, writes, CancellationToken.None);

    public async Task<AuditPage> ReadAsync(string organization, AuditQuery query)
    {
        var limit = Math.Clamp(query.Limit, 1, AuditQuery.MaxLimit);
        var rows = await records.ReadNewestAsync(ServiceId, Table, organization, query.Before, limit + 1, CancellationToken.None);
        var page = rows.Take(limit).Select(row =>
        {
            var record = JsonSerializer.Deserialize<AuditRecord>(row.Payload, Json)!;
            return new AuditEntry(row.Position, record.At, record.ActorUserId, record.Action, record.Target, record.ClientAddress);
        }).ToList();
        return new AuditPage(page, rows.Count > limit ? page[^1].Sequence : null);
    }

    private sealed record AuditRecord(DateTimeOffset At, string ActorUserId, string Action, string Target, string ClientAddress);
}
