namespace CloudDeck.GrainInterfaces.Organizations;

public static class OrganizationRoles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Developer = "developer";
    public const string Viewer = "viewer";

    /// <summary>Strongest first.</summary>
    public static readonly IReadOnlyList<string> All = [Owner, Admin, Developer, Viewer];

    public static bool IsValid(string? role) => role is not null && All.Contains(role);

    /// <summary>Higher is stronger: owner 4 … viewer 1.</summary>
    public static int Rank(string role) => All.Count - All.ToList().IndexOf(role);
}

/// <summary>What grains outside the organization ask <see cref="IOrganizationGrain.Authorize"/> about.</summary>
public static class OrganizationActions
{
    /// <summary>See the organization's builds and follow their logs: every member (token scope 'read').</summary>
    public const string ViewBuilds = "view-builds";

    /// <summary>Start builds and deploy projects: developers and above (token scope 'deploy').</summary>
    public const string Deploy = "deploy";

    /// <summary>See the organization's usage: every member (token scope 'read').</summary>
    public const string ViewUsage = "view-usage";

    /// <summary>Report usage events for the organization (SDKs): developers and above (token scope 'deploy').</summary>
    public const string ReportUsage = "report-usage";

    /// <summary>See the billing status, invoices and exports: admins and owners (token scope 'read').</summary>
    public const string ViewBilling = "view-billing";

    /// <summary>Upgrade, downgrade, open the payment portal: owners (token scope 'admin').</summary>
    public const string ManageBilling = "manage-billing";

    /// <summary>See and change notification rules and webhook endpoints, read their deliveries: admins and owners (token scope 'admin').</summary>
    public const string ManageNotifications = "manage-notifications";
}

[GenerateSerializer, Immutable, Alias("clouddeck.OrganizationView")]
public sealed record OrganizationView(string Slug, string Name, bool Personal, DateTimeOffset CreatedAt, string YourRole, int MemberCount, string Plan);

[GenerateSerializer, Immutable, Alias("clouddeck.MemberView")]
public sealed record MemberView(string UserId, string Email, string Role, DateTimeOffset JoinedAt);

[GenerateSerializer, Immutable, Alias("clouddeck.InvitationView")]
public sealed record InvitationView(string Id, string Email, string Role, string InvitedBy, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

[GenerateSerializer, Immutable, Alias("clouddeck.AuditEntry")]
public sealed record AuditEntry(long Sequence, DateTimeOffset At, string ActorUserId, string Action, string Target, string ClientAddress);

/// <summary>Newest first. <paramref name="Before"/> is the sequence to start below (exclusive); null for the newest.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.AuditQuery")]
public sealed record AuditQuery(long? Before = null, int Limit = 50)
{
    public const int MaxLimit = 100;
}

/// <summary><paramref name="NextBefore"/> is the cursor for the next (older) page, null at the end.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.AuditPage")]
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long? NextBefore);

/// <summary>Which identity provider an organization requires its members to sign in with; null when none.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.SsoRequirementView")]
public sealed record SsoRequirementView(string Slug, string? RequiredProvider);
