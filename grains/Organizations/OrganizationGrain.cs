using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Billing;
using CloudDeck.Grains.Limits;
using Microsoft.Extensions.Options;
using static CloudDeck.Grains.Organizations.OrganizationPermissions;

namespace CloudDeck.Grains.Organizations;

/// <summary>
/// An organization and the authority over it: every method first asks <see cref="Require"/> whether this
/// caller may act. The grain writes its own state first (it is the truth), then tells members' user grains
/// and the audit log.
/// </summary>
public sealed partial class OrganizationGrain(
    [PersistentState("organization")] IPersistentState<OrganizationState> state,
    IOptions<AuthOptions> options,
    IOptions<AccountLimitOptions> limits,
    PlanOptions plans,
    BillingOptions billing,
    AuditTrail audit,
    TimeProvider clock) : Grain, IOrganizationGrain
{
    public const int MaxNameLength = DisplayNames.MaxLength;

    private OrganizationState Org => state.State;

    private string Slug => this.GetPrimaryKeyString();

    private DateTimeOffset Now => clock.GetUtcNow();

    public async Task<OrganizationView> Create(Caller caller, string name, bool personal)
    {
        if (!caller.HasScope(ApiTokenScopes.Admin)) throw new ForbiddenException("Creating an organization needs the 'admin' scope.");
        if (Org.Created) throw new ConflictException($"slug: the organization '{Slug}' already exists");
        // Validated before the first change: a refused name must leave the slug free, not half-created.
        name = CheckName(name);
        if (!personal)
        {
            // A personal organization comes with its sign-up, which has limits of its own.
            var rates = limits.Value;
            await GrainFactory.EnforceAsync("org-create-address", ClientAddresses.ThrottleKey(caller.ClientAddress), rates.OrganizationCreationsPerAddress,
                rates.RateWindow, "Too many organizations created from this address");
            await GrainFactory.EnforceAsync("org-create-user", caller.UserId, rates.OrganizationCreationsPerUser, rates.RateWindow,
                "Too many organizations created by this account");
        }

        var owner = GrainFactory.GetGrain<IUserGrain>(caller.UserId);
        await owner.ReserveOrganization(Slug);
        Org.Created = true;
        Org.Name = name;
        Org.Personal = personal;
        Org.CreatedAt = Now;
        Org.Members[caller.UserId] = new MemberRecord { Email = caller.Email, Role = OrganizationRoles.Owner, JoinedAt = Now };
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = new OrganizationState();
            await owner.ReleaseOrganization(Slug);
            throw;
        }

        await SyncMembershipAsync(caller.UserId);
        await AuditAsync(caller, "organization.created", Slug);
        return View(caller.UserId);
    }

    public Task<OrganizationView> Get(Caller caller)
    {
        Require(caller, ViewOrganization);
        return Task.FromResult(View(caller.UserId));
    }

    public async Task<OrganizationView> Rename(Caller caller, string name)
    {
        Require(caller, RenameOrganization);
        var before = Org.Name;
        Org.Name = CheckName(name);
        await state.WriteStateAsync();
        foreach (var member in Org.Members.Keys.ToList()) await SyncMembershipAsync(member);
        await AuditAsync(caller, "organization.renamed", $"{before} -> {Org.Name}");
        return View(caller.UserId);
    }

    public Task<IReadOnlyList<MemberView>> ListMembers(Caller caller)
    {
        Require(caller, ViewOrganization);
        IReadOnlyList<MemberView> members = [.. Org.Members
            .OrderByDescending(m => OrganizationRoles.Rank(m.Value.Role)).ThenBy(m => m.Value.Email, StringComparer.Ordinal)
            .Select(m => new MemberView(m.Key, m.Value.Email, m.Value.Role, m.Value.JoinedAt))];
        return Task.FromResult(members);
    }

    public async Task<MemberView> ChangeRole(Caller caller, string userId, string role)
    {
        var actor = Require(caller, ManageMembers);
        if (!OrganizationRoles.IsValid(role)) throw new InvalidFieldException("role", $"must be one of {string.Join(", ", OrganizationRoles.All)}");
        var target = Member(userId);
        if (actor.Role != OrganizationRoles.Owner && (target.Role == OrganizationRoles.Owner || role == OrganizationRoles.Owner))
        {
            throw new ForbiddenException("Only owners can make or unmake owners.");
        }

        if (target.Role == OrganizationRoles.Owner && role != OrganizationRoles.Owner && OwnerCount == 1)
        {
            throw new ConflictException("This is the organization's last owner; make someone else an owner first.");
        }

        var before = target.Role;
        target.Role = role;
        await state.WriteStateAsync();
        await SyncMembershipAsync(userId);
        await AuditAsync(caller, "member.role_changed", $"{target.Email}: {before} -> {role}");
        return new MemberView(userId, target.Email, target.Role, target.JoinedAt);
    }

    public async Task RemoveMember(Caller caller, string userId)
    {
        var leaving = string.Equals(caller.UserId, userId, StringComparison.Ordinal);
        var actor = Require(caller, leaving ? LeaveOrganization : ManageMembers);
        var target = Member(userId);
        if (!leaving && actor.Role != OrganizationRoles.Owner && target.Role == OrganizationRoles.Owner)
        {
            throw new ForbiddenException("Only owners can remove owners.");
        }

        if (target.Role == OrganizationRoles.Owner && OwnerCount == 1)
        {
            throw new ConflictException("The last owner cannot leave or be removed; make someone else an owner first.");
        }

        Org.Members.Remove(userId);
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IUserGrain>(userId).RemoveMembership(Slug);
        await AuditAsync(caller, leaving ? "member.left" : "member.removed", target.Email);
    }

    public async Task<InvitationView> Invite(Caller caller, string email, string role)
    {
        var actor = Require(caller, ManageMembers);
        if (!OrganizationRoles.IsValid(role)) throw new InvalidFieldException("role", $"must be one of {string.Join(", ", OrganizationRoles.All)}");
        if (role == OrganizationRoles.Owner && actor.Role != OrganizationRoles.Owner) throw new ForbiddenException("Only owners can invite owners.");
        email = EmailAddresses.Normalize(email);
        if (Org.Members.Values.Any(m => m.Email == email)) throw new ConflictException($"email: {email} is already a member");

        PruneInvitations();
        // Pending invitations hold a seat: inviting more people than the plan has room for would only fail at acceptance.
        EnsureRoomForMembers(Org.Members.Count + Org.Invitations.Count(i => i.Value.Email != email));
        // A new invitation to the same address replaces the old one, whose link stops working.
        foreach (var old in Org.Invitations.Where(i => i.Value.Email == email).Select(i => i.Key).ToList()) Org.Invitations.Remove(old);
        var token = new SecretToken(SecretToken.Invitation, Slug, Secrets.NewId(), Secrets.NewSecret());
        var invitation = new InvitationRecord
        {
            Email = email,
            Role = role,
            Hash = Secrets.Hash(token.Secret),
            InvitedBy = caller.Email,
            CreatedAt = Now,
            ExpiresAt = Now + options.Value.InvitationLifetime,
        };
        Org.Invitations[token.Id] = invitation;
        await state.WriteStateAsync();

        var link = $"{options.Value.LinkBaseUrl.TrimEnd('/')}/invitations?token={Uri.EscapeDataString(token.ToString())}";
        await GrainFactory.GetGrain<IOutboxGrain>(email).Enqueue(new OutboxMessage(OutboxKinds.Invitation, email,
            $"{caller.Email} invited you to {Org.Name} on CloudDeck",
            $"You are invited to join {Org.Name} as {role}. Open the link below to accept or decline; it expires on {invitation.ExpiresAt:u}.\n\n{link}\n",
            link, Now));
        await AuditAsync(caller, "member.invited", $"{email} as {role}");
        return View(token.Id, invitation);
    }

    public Task<IReadOnlyList<InvitationView>> ListInvitations(Caller caller)
    {
        Require(caller, ManageMembers);
        IReadOnlyList<InvitationView> invitations = [.. Org.Invitations.Where(i => i.Value.ExpiresAt > Now)
            .OrderBy(i => i.Value.CreatedAt).Select(i => View(i.Key, i.Value))];
        return Task.FromResult(invitations);
    }

    public async Task RevokeInvitation(Caller caller, string invitationId)
    {
        Require(caller, ManageMembers);
        if (!Org.Invitations.Remove(invitationId, out var invitation)) throw new NotFoundException("Invitation not found.");
        await state.WriteStateAsync();
        await AuditAsync(caller, "invitation.revoked", invitation.Email);
    }

    public async Task<MembershipView> AcceptInvitation(Caller caller, string invitationId, string secret)
    {
        var invitation = await RedeemAsync(caller, invitationId, secret, accepting: true);
        if (!Org.Members.ContainsKey(caller.UserId))
        {
            Org.Members[caller.UserId] = new MemberRecord { Email = invitation.Email, Role = invitation.Role, JoinedAt = Now };
        }

        await state.WriteStateAsync();
        await SyncMembershipAsync(caller.UserId);
        await AuditAsync(caller, "invitation.accepted", $"{invitation.Email} as {invitation.Role}");
        return Membership(caller.UserId);
    }

    public async Task DeclineInvitation(Caller caller, string invitationId, string secret)
    {
        var invitation = await RedeemAsync(caller, invitationId, secret, accepting: false);
        await state.WriteStateAsync();
        await AuditAsync(caller, "invitation.declined", invitation.Email);
    }

    public Task<AuditPage> GetAuditLog(Caller caller, AuditQuery query)
    {
        Require(caller, ReadAuditLog);
        return GrainFactory.GetGrain<IAuditLogGrain>(Slug).Read(query);
    }

    public async Task<OrganizationView> ChangePlan(Caller caller, string plan)
    {
        Require(caller, OrganizationPermissions.ChangePlan);
        if (!PlanNames.IsValid(plan)) throw new InvalidFieldException("plan", $"must be one of {string.Join(", ", PlanNames.All)}");
        if (billing.Enabled)
        {
            throw new ConflictException($"Billing is on: the plan follows the Stripe subscription. Upgrade with POST /api/v1/orgs/{Slug}/billing/upgrade, downgrade with POST /api/v1/orgs/{Slug}/billing/downgrade.");
        }

        await SetPlanAsync(plan, caller.UserId, caller.ClientAddress, null);
        return View(caller.UserId);
    }

    public async Task ApplyBillingPlan(string plan, string reason)
    {
        if (!PlanNames.IsValid(plan)) throw new InvalidFieldException("plan", $"must be one of {string.Join(", ", PlanNames.All)}");
        if (!Org.Created) throw new NotFoundException($"Organization '{Slug}' not found.");
        await SetPlanAsync(plan, BillingGrain.StripeActor, "", reason);
    }

    public Task<IReadOnlyList<string>> GetOwnerEmails() => Task.FromResult<IReadOnlyList<string>>(
        [.. Org.Members.Values.Where(m => m.Role == OrganizationRoles.Owner).Select(m => m.Email).Order(StringComparer.Ordinal)]);

    public Task<IReadOnlyList<string>> GetMemberEmails(IReadOnlyList<string> roles) => Task.FromResult<IReadOnlyList<string>>(
        [.. Org.Members.Values.Where(m => roles.Contains(m.Role)).Select(m => m.Email).Order(StringComparer.Ordinal)]);

    private async Task SetPlanAsync(string plan, string actor, string clientAddress, string? reason)
    {
        var before = Org.Plan;
        Org.Plan = plan;
        await state.WriteStateAsync();
        // The quota grain keeps its own copy of the plan; if this call fails, repeating the change (or GetQuotas) repairs it.
        await Quota.SetPlan(plan);
        if (before != plan)
        {
            await audit.AppendAsync(Slug, actor, "organization.plan_changed",
                reason is null ? $"{before} -> {plan}" : $"{before} -> {plan} ({reason})", clientAddress);
        }
    }

    public async Task<QuotaUsageView> GetQuotas(Caller caller)
    {
        Require(caller, ViewOrganization);
        var usage = await Quota.GetUsage();
        if (usage.Plan != Org.Plan)
        {
            await Quota.SetPlan(Org.Plan);
            usage = await Quota.GetUsage();
        }

        // Members are counted here, where they are kept; stored bytes by the organization's storage grain.
        var stored = (await GrainFactory.GetGrain<IOrganizationStorageGrain>(Slug).GetUsage()).Bytes;
        return usage with
        {
            Limits = [.. usage.Limits.Select(l => l.Limit switch
            {
                QuotaLimits.TeamMembers => l with { Current = Org.Members.Count },
                QuotaLimits.StorageBytes => l with { Current = stored },
                _ => l,
            })],
        };
    }

    public Task<string> Authorize(Caller caller, string action) => Task.FromResult(Require(caller, ForAction(action)).Role);

    /// <summary>
    /// Non-members (and everyone, for an organization that does not exist) get 404, so slugs do not leak;
    /// members whose role or token scope falls short get 403.
    /// </summary>
    private MemberRecord Require(Caller caller, Permission permission)
    {
        if (!Org.Created || !Org.Members.TryGetValue(caller.UserId, out var member))
        {
            throw new NotFoundException($"Organization '{Slug}' not found.");
        }

        if (!caller.HasScope(permission.Scope))
        {
            throw new ForbiddenException($"To {permission.Action}, an API token needs the '{permission.Scope}' scope.");
        }

        if (OrganizationRoles.Rank(member.Role) < OrganizationRoles.Rank(permission.MinimumRole))
        {
            throw new ForbiddenException($"To {permission.Action} you need the {permission.MinimumRole} role or higher; you are {member.Role}.");
        }

        return member;
    }

    /// <summary>
    /// Checks and removes the invitation (the caller writes). Any holder of a wrong or unknown token sees 404.
    /// Accepting needs a verified email: otherwise whoever registered the invited address first, without
    /// owning the mailbox, would join in its owner's place. Declining does not, as it grants nothing.
    /// </summary>
    private Task<InvitationRecord> RedeemAsync(Caller caller, string invitationId, string secret, bool accepting)
    {
        if (!Org.Created || !Org.Invitations.TryGetValue(invitationId, out var invitation) || !Secrets.Matches(invitation.Hash, secret))
        {
            throw new NotFoundException("Invitation not found.");
        }

        if (!caller.HasScope(ApiTokenScopes.Admin)) throw new ForbiddenException("Answering an invitation needs a session or the 'admin' scope.");
        if (invitation.ExpiresAt <= Now) throw new GoneException("This invitation has expired; ask for a new one.");
        if (!string.Equals(EmailAddresses.Normalize(caller.Email), invitation.Email, StringComparison.Ordinal))
        {
            throw new ForbiddenException("This invitation was sent to another email address; sign in with that address to answer it.");
        }

        if (accepting && !caller.EmailVerified) throw new ForbiddenException(Caller.VerifyEmailFirstThenRefresh);
        // Checked before the invitation is used up: a full organization keeps it, so it works after an upgrade.
        if (accepting && !Org.Members.ContainsKey(caller.UserId)) EnsureRoomForMembers(Org.Members.Count);

        Org.Invitations.Remove(invitationId);
        return Task.FromResult(invitation);
    }

    private IOrganizationQuotaGrain Quota => GrainFactory.GetGrain<IOrganizationQuotaGrain>(Slug);

    /// <summary>Team members are a ceiling this grain counts itself (members live here), against the plan in its own state.</summary>
    private void EnsureRoomForMembers(int seatsTaken)
    {
        var maximum = plans.For(Org.Plan).TeamMembers;
        if (maximum == QuotaLimits.Unlimited || seatsTaken < maximum) return;
        throw new PlanLimitExceededException(new QuotaRefusal(QuotaLimits.TeamMembers, seatsTaken, maximum, null),
            $"The {Org.Plan} plan allows {maximum} team members (pending invitations included); change the plan for more.");
    }

    private MemberRecord Member(string userId) =>
        Org.Members.TryGetValue(userId, out var member) ? member : throw new NotFoundException("Member not found.");

    private int OwnerCount => Org.Members.Values.Count(m => m.Role == OrganizationRoles.Owner);

    private void PruneInvitations()
    {
        foreach (var expired in Org.Invitations.Where(i => i.Value.ExpiresAt <= Now).Select(i => i.Key).ToList()) Org.Invitations.Remove(expired);
    }

    private static string CheckName(string name) => DisplayNames.Check(name, "name", MaxNameLength);

    private Task SyncMembershipAsync(string userId) => GrainFactory.GetGrain<IUserGrain>(userId).SetMembership(Membership(userId));

    private MembershipView Membership(string userId) => new(Slug, Org.Name, Org.Members[userId].Role, Org.RequiredSsoProvider);

    private Task AuditAsync(Caller caller, string action, string target) =>
        audit.AppendAsync(Slug, caller.UserId, action, target, caller.ClientAddress);

    private OrganizationView View(string userId) =>
        new(Slug, Org.Name, Org.Personal, Org.CreatedAt, Org.Members[userId].Role, Org.Members.Count, Org.Plan);

    private static InvitationView View(string id, InvitationRecord invitation) =>
        new(id, invitation.Email, invitation.Role, invitation.InvitedBy, invitation.CreatedAt, invitation.ExpiresAt);
}
