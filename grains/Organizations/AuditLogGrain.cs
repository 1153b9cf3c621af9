using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Organizations;

/// <summary>An organization's audit entries, append-only, numbered from 1; read newest first in pages.</summary>
public sealed class AuditLogGrain(
    [PersistentState("audit")] IPersistentState<AuditLogGrain.AuditState> state,
    TimeProvider clock) : Grain, IAuditLogGrain
{
    public async Task Append(string actorUserId, string action, string target, string clientAddress)
    {
        var entry = new AuditEntry(state.State.Entries.Count + 1, clock.GetUtcNow(), actorUserId, action, target, clientAddress);
        state.State.Entries.Add(entry);
        await state.WriteStateAsync();
    }

    public Task<AuditPage> Read(AuditQuery query)
    {
        var entries = state.State.Entries;
        var limit = Math.Clamp(query.Limit, 1, AuditQuery.MaxLimit);
        // Sequence n sits at index n - 1, so a page is a slice counted down from the cursor.
        var end = (int)Math.Min(query.Before is { } before ? Math.Max(before - 1, 0) : entries.Count, entries.Count);
        var start = Math.Max(0, end - limit);
        IReadOnlyList<AuditEntry> page = [.. Enumerable.Range(start, end - start).Reverse().Select(i => entries[i])];
        return Task.FromResult(new AuditPage(page, start > 0 ? entries[start].Sequence : null));
    }

    public sealed class AuditState
    {
        public List<AuditEntry> Entries { get; set; } = [];
    }
}
