using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Organizations;

/// <summary>
/// An organization, keyed by slug: members and roles, invitations, audit. Every method decides for itself
/// whether the caller may do it: non-members get <see cref="NotFoundException"/> (existence does not leak),
/// members whose role or token scope is too weak get <see cref="ForbiddenException"/>.
/// </summary>
[Alias("clouddeck.IOrganizationGrain")]
public interface IOrganizationGrain : IGrainWithStringKey
{
    /// <summary>The caller becomes the owner. A taken slug is a <see cref="ConflictException"/>.</summary>
    Task<OrganizationView> Create(Caller caller, string name, bool personal);

    [ReadOnly]
    Task<OrganizationView> Get(Caller caller);

    Task<OrganizationView> Rename(Caller caller, string name);

    /// <summary>
    /// Owners only. With a provider, members may no longer sign in with a password (or another provider); null lifts the
    /// requirement. The caller must have signed in with that provider once, so requiring it cannot lock them out.
    /// </summary>
    Task<SsoRequirementView> RequireSso(Caller caller, string? provider);

    [ReadOnly]
    Task<IReadOnlyList<MemberView>> ListMembers(Caller caller);

    /// <summary>Refuses to leave the organization without an owner.</summary>
    Task<MemberView> ChangeRole(Caller caller, string userId, string role);

    /// <summary>Admins remove non-owners, owners anyone, anybody themselves; never the last owner.</summary>
    Task RemoveMember(Caller caller, string userId);

    /// <summary>Writes the invitation link to the outbox; the answer never carries the token.</summary>
    Task<InvitationView> Invite(Caller caller, string email, string role);

    [ReadOnly]
    Task<IReadOnlyList<InvitationView>> ListInvitations(Caller caller);

    Task RevokeInvitation(Caller caller, string invitationId);

    /// <summary>The caller's email must be the invited one.</summary>
    Task<MembershipView> AcceptInvitation(Caller caller, string invitationId, string secret);

    Task DeclineInvitation(Caller caller, string invitationId, string secret);

    [ReadOnly]
    Task<AuditPage> GetAuditLog(Caller caller, AuditQuery query);

    /// <summary>
    /// Owners change the plan (one of <see cref="PlanNames"/>) while billing is off; a downgrade below current usage keeps
    /// what exists and refuses more. Repeating it is harmless. With billing on, Stripe owns the plan: 409.
    /// </summary>
    Task<OrganizationView> ChangePlan(Caller caller, string plan);

    /// <summary>
    /// For the organization's billing grain only: the plan Stripe confirmed (or the free plan when a grace period ran
    /// out), with the reason for the audit log. Repeating it is harmless.
    /// </summary>
    Task ApplyBillingPlan(string plan, string reason);

    /// <summary>For the billing grain's notices: the owners' email addresses.</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> GetOwnerEmails();

    /// <summary>The addresses of the members who hold one of <paramref name="roles"/> (notification emails); platform-internal.</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> GetMemberEmails(IReadOnlyList<string> roles);

    /// <summary>The plan's limits and current usage, for every member (an API token needs 'read').</summary>
    Task<QuotaUsageView> GetQuotas(Caller caller);

    /// <summary>
    /// For grains that belong to the organization (builds, later projects and deployments): may the caller do
    /// <paramref name="action"/> (one of <see cref="OrganizationActions"/>) here? Answers the caller's role, or throws
    /// as every method here does: <see cref="NotFoundException"/> for non-members, <see cref="ForbiddenException"/> for
    /// members whose role or token scope falls short.
    /// </summary>
    [ReadOnly]
    Task<string> Authorize(Caller caller, string action);
}

/// <summary>
/// One organization's audit log (keyed by slug). Entries are rows of the audit table (grains append them through
/// <c>AuditTrail</c>, with no call here); this grain reads them in pages, and moves the entries an earlier version kept in
/// its state into the table once, before the first append numbers a new one.
/// </summary>
[Alias("clouddeck.IAuditLogGrain")]
public interface IAuditLogGrain : IGrainWithStringKey
{
    /// <summary>Moves entries kept in this grain's state by an earlier version into the table (their numbers kept); then nothing.</summary>
    Task Migrate();

    /// <summary>Newest first; migrates first (so not read-only: two reads must not both move the old state).</summary>
    Task<AuditPage> Read(AuditQuery query);
}
