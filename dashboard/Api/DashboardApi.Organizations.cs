using System.Text.Json.Nodes;

namespace CloudDeck.Dashboard.Api;

/// <summary>An organization's team, invitations, audit log and usage.</summary>
public sealed partial class DashboardApi
{
    private static string OrgPath(string org) => $"api/v1/orgs/{Escape(org)}";

    public async Task<IReadOnlyList<Member>> MembersAsync(string org, CancellationToken cancellation = default) =>
        DashboardJson.ReadList<Member>(await GetAsync($"{OrgPath(org)}/members", cancellation)).Items;

    public Task ChangeRoleAsync(string org, string userId, string role, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Patch, $"{OrgPath(org)}/members/{Escape(userId)}", new { role }, cancellation: cancellation);

    /// <summary>Removes a member; with the caller's own user id, leaves the organization.</summary>
    public Task RemoveMemberAsync(string org, string userId, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Delete, $"{OrgPath(org)}/members/{Escape(userId)}", cancellation: cancellation);

    public async Task<IReadOnlyList<Invitation>> InvitationsAsync(string org, CancellationToken cancellation = default) =>
        DashboardJson.ReadList<Invitation>(await GetAsync($"{OrgPath(org)}/invitations", cancellation)).Items;

    /// <summary>Withdraws a pending invitation: its link stops working.</summary>
    public Task CancelInvitationAsync(string org, string invitationId, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Delete, $"{OrgPath(org)}/invitations/{Escape(invitationId)}", cancellation: cancellation);

    public Task InviteAsync(string org, string email, string role, CancellationToken cancellation = default) =>
        PostAsync($"{OrgPath(org)}/invitations", new { email, role }, cancellation);

    /// <summary>A page of the audit log, newest first, from <paramref name="cursor"/> on (the previous page's next cursor).</summary>
    public async Task<(IReadOnlyList<AuditEntry> Items, string? NextCursor)> AuditAsync(string org, string? cursor, CancellationToken cancellation = default)
    {
        var query = cursor is null ? "?limit=50" : $"?limit=50&cursor={Escape(cursor)}";
        var answer = await GetAsync($"{OrgPath(org)}/audit{query}", cancellation);
        return DashboardJson.ReadList<AuditEntry>(answer);
    }

    public async Task<UsageReport> UsageAsync(string org, string? period, CancellationToken cancellation = default) =>
        DashboardJson.Read<UsageReport>(await GetAsync($"{OrgPath(org)}/usage{(period is null ? "" : "?period=" + Escape(period))}", cancellation));

    public Task<JsonNode?> QuotasAsync(string org, CancellationToken cancellation = default) => GetAsync($"{OrgPath(org)}/quotas", cancellation);
}

public sealed record AuditEntry(long Sequence, DateTimeOffset At, string ActorUserId, string Action, string Target, string ClientAddress);

public sealed record UsageDay(string Date, IReadOnlyDictionary<string, long> Totals);

public sealed record UsageReport(string Organization, string Period, IReadOnlyDictionary<string, long> Totals, IReadOnlyList<UsageDay> Days, long Events);
