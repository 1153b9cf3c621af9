using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Organizations;

/// <summary>
/// An organization's audit log: entries are rows of the audit table, appended by <see cref="AuditTrail"/> and read here
/// newest first in pages. The state holds only what an earlier version kept in it (every entry, rewritten on each
/// append), moved into the table once and then cleared.
/// </summary>
public sealed class AuditLogGrain(
    [PersistentState("audit")] IPersistentState<AuditLogGrain.AuditState> state,
    AuditTrail trail) : Grain, IAuditLogGrain
{
    /// <summary>Entries written per transaction when the old state moves into the table.</summary>
    private const int MigrationBatch = 1_000;

    public async Task Migrate()
    {
        var entries = state.State.Entries;
        if (entries.Count == 0) return;
        var organization = this.GetPrimaryKeyString();
        // At their own numbers, so a migration stopped half-way and done again rewrites the same rows.
        foreach (var batch in entries.Chunk(MigrationBatch))
        {
            await trail.WriteAsync([.. batch.Select(entry => AuditTrail.Legacy(organization, entry))]);
        }

        state.State = new AuditState();
        await state.ClearStateAsync();
    }

    public async Task<AuditPage> Read(AuditQuery query)
    {
        // Directly, not through the trail: the trail would call this grain, which is busy with this call.
        await Migrate();
        return await trail.ReadAsync(this.GetPrimaryKeyString(), query);
    }

    public sealed class AuditState
    {
        /// <summary>Entries an earlier version kept here; empty once moved into the audit table.</summary>
        public List<AuditEntry> Entries { get; set; } = [];
    }
}
