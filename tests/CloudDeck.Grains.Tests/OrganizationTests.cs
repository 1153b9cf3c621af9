using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Tests;

/// <summary>Tenancy and roles decided in the organization grain: 404 for outsiders, 403 for weak roles or scopes, owners never all gone.</summary>
public sealed class OrganizationTests
{
    [Fact]
    public async Task The_last_owner_cannot_leave_or_be_demoted()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (owner, _) = await silo.SignUpAsync("olive@example.com");
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        await org.Create(owner, "Acme", personal: false);

        await Assert.ThrowsAsync<ConflictException>(() => org.ChangeRole(owner, owner.UserId, OrganizationRoles.Admin));
        await Assert.ThrowsAsync<ConflictException>(() => org.RemoveMember(owner, owner.UserId));

        // With a second owner, the first may step down and then leave; the second is then the last.
        var (second, _) = await silo.SignUpAsync("sam@example.com", verified: true);
        await JoinAsync(silo, org, owner, second, OrganizationRoles.Owner);
        await org.ChangeRole(owner, owner.UserId, OrganizationRoles.Admin);
        await org.RemoveMember(owner, owner.UserId);
        await Assert.ThrowsAsync<ConflictException>(() => org.RemoveMember(second, second.UserId));
        await Assert.ThrowsAsync<ConflictException>(() => org.ChangeRole(second, second.UserId, OrganizationRoles.Viewer));
        Assert.Equal([second.UserId], (await org.ListMembers(second)).Select(m => m.UserId));
        await Assert.ThrowsAsync<NotFoundException>(() => org.Get(owner));
        Assert.DoesNotContain((await silo.User(owner).Get(owner)).Organizations, m => m.Slug == "acme");
    }

    [Fact]
    public async Task Two_owners_demoting_each_other_at_once_leave_exactly_one_owner()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (first, _) = await silo.SignUpAsync("olive@example.com");
        var (second, _) = await silo.SignUpAsync("sam@example.com", verified: true);
        for (var round = 0; round < 5; round++)
        {
            var org = silo.Grains.GetGrain<IOrganizationGrain>($"duo-{round}");
            await org.Create(first, "Duo", personal: false);
            await JoinAsync(silo, org, first, second, OrganizationRoles.Owner);

            var demoted = await Task.WhenAll(DemoteAsync(org, first, second), DemoteAsync(org, second, first));
            // Whoever went first is the last owner; the other, already a viewer, may no longer change roles.
            Assert.Single(demoted, succeeded => succeeded);
            var owners = (await org.ListMembers(first)).Where(m => m.Role == OrganizationRoles.Owner).ToList();
            Assert.Single(owners);
        }
    }

    private static Task<bool> DemoteAsync(IOrganizationGrain org, Caller actor, Caller target) => Task.Run(async () =>
    {
        try
        {
            await org.ChangeRole(actor, target.UserId, OrganizationRoles.Viewer);
            return true;
        }
        catch (Exception e) when (e is ForbiddenException or ConflictException)
        {
            return false;
        }
    });

    [Theory]
    [InlineData("CR LF")]
    [InlineData("TAB")]
    [InlineData("blank")]
    public async Task A_refused_organization_name_names_the_field_and_leaves_the_slug_free(string label)
    {
        var name = label switch
        {
            "CR LF" => "Acme\r\nBcc: everyone@example.com",
            "TAB" => "Acme\tCorp",
            _ => "  ",
        };
        await using var silo = await AccountsSilo.StartAsync();
        var (owner, _) = await silo.SignUpAsync("olive@example.com");
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");

        Assert.Equal("name", (await Assert.ThrowsAsync<InvalidFieldException>(() => org.Create(owner, name, personal: false))).Field);
        await Assert.ThrowsAsync<NotFoundException>(() => org.Get(owner));
        Assert.Equal("Acme", (await org.Create(owner, "Acme", personal: false)).Name);

        Assert.Equal("name", (await Assert.ThrowsAsync<InvalidFieldException>(() => org.Rename(owner, name))).Field);
        Assert.Equal("Acme", (await org.Get(owner)).Name);
    }

    [Fact]
    public async Task Outsiders_get_not_found_weak_roles_and_scopes_get_forbidden()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (owner, _) = await silo.SignUpAsync("olive@example.com");
        var (admin, _) = await silo.SignUpAsync("adam@example.com", verified: true);
        var (viewer, _) = await silo.SignUpAsync("vera@example.com", verified: true);
        var (outsider, _) = await silo.SignUpAsync("otto@example.com");
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        await org.Create(owner, "Acme", personal: false);
        await JoinAsync(silo, org, owner, admin, OrganizationRoles.Admin);
        await JoinAsync(silo, org, owner, viewer, OrganizationRoles.Viewer);

        await Assert.ThrowsAsync<NotFoundException>(() => org.Get(outsider));
        await Assert.ThrowsAsync<NotFoundException>(() => silo.Grains.GetGrain<IOrganizationGrain>("no-such-org").Get(owner));
        Assert.Equal("viewer", (await org.Get(viewer)).YourRole);
        await Assert.ThrowsAsync<ForbiddenException>(() => org.Rename(viewer, "Mine"));
        await Assert.ThrowsAsync<ForbiddenException>(() => org.GetAuditLog(viewer, new AuditQuery()));

        // Admins manage members but not owners.
        await Assert.ThrowsAsync<ForbiddenException>(() => org.ChangeRole(admin, owner.UserId, OrganizationRoles.Viewer));
        await Assert.ThrowsAsync<ForbiddenException>(() => org.Invite(admin, "new@example.com", OrganizationRoles.Owner));
        await Assert.ThrowsAsync<ForbiddenException>(() => org.RemoveMember(admin, owner.UserId));
        await org.ChangeRole(admin, viewer.UserId, OrganizationRoles.Developer);

        // An API token acts with its scopes, even for an owner.
        var readOnly = owner with { Scopes = [ApiTokenScopes.Read] };
        Assert.Equal("Acme", (await org.Get(readOnly)).Name);
        await Assert.ThrowsAsync<ForbiddenException>(() => org.Rename(readOnly, "Renamed"));
        Assert.Equal("Renamed", (await org.Rename(owner with { Scopes = [ApiTokenScopes.Admin] }, "Renamed")).Name);
        Assert.Equal("Renamed", (await silo.User(viewer).Get(viewer)).Organizations.Single(m => m.Slug == "acme").Name);
    }

    [Fact]
    public async Task Invitations_are_accepted_declined_or_expire()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (owner, _) = await silo.SignUpAsync("olive@example.com");
        var (ann, _) = await silo.SignUpAsync("ann@example.com", verified: true);
        var (dan, _) = await silo.SignUpAsync("dan@example.com", verified: true);
        var (eli, _) = await silo.SignUpAsync("eli@example.com", verified: true);
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        await org.Create(owner, "Acme", personal: false);

        var invitation = await org.Invite(owner, "ANN@example.com", OrganizationRoles.Developer);
        Assert.Equal("ann@example.com", invitation.Email);
        var token = await silo.TokenFromOutboxAsync("ann@example.com", OutboxKinds.Invitation, SecretToken.Invitation);
        Assert.Equal("acme", token.Owner);
        await Assert.ThrowsAsync<ForbiddenException>(() => org.AcceptInvitation(dan, token.Id, token.Secret));
        await Assert.ThrowsAsync<NotFoundException>(() => org.AcceptInvitation(ann, token.Id, "wrong-secret"));
        Assert.Equal(new MembershipView("acme", "Acme", OrganizationRoles.Developer), await org.AcceptInvitation(ann, token.Id, token.Secret));
        await Assert.ThrowsAsync<NotFoundException>(() => org.AcceptInvitation(ann, token.Id, token.Secret));

        await org.Invite(owner, "dan@example.com", OrganizationRoles.Viewer);
        var danToken = await silo.TokenFromOutboxAsync("dan@example.com", OutboxKinds.Invitation, SecretToken.Invitation);
        await org.DeclineInvitation(dan, danToken.Id, danToken.Secret);
        await Assert.ThrowsAsync<NotFoundException>(() => org.Get(dan));
        Assert.Empty(await org.ListInvitations(owner));

        await org.Invite(owner, "eli@example.com", OrganizationRoles.Viewer);
        var eliToken = await silo.TokenFromOutboxAsync("eli@example.com", OutboxKinds.Invitation, SecretToken.Invitation);
        silo.Clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        await Assert.ThrowsAsync<GoneException>(() => org.AcceptInvitation(eli, eliToken.Id, eliToken.Secret));
        Assert.Empty(await org.ListInvitations(owner));

        var actions = (await org.GetAuditLog(owner, new AuditQuery())).Entries.Select(e => e.Action).ToList();
        Assert.Equal(["member.invited", "invitation.declined", "member.invited", "invitation.accepted", "member.invited", "organization.created"], actions);
    }

    [Fact]
    public async Task The_audit_log_pages_newest_first_with_actor_target_time_and_address()
    {
        await using var silo = await AccountsSilo.StartAsync();
        var (owner, _) = await silo.SignUpAsync("olive@example.com", address: "192.0.2.7");
        var org = silo.Grains.GetGrain<IOrganizationGrain>("acme");
        await org.Create(owner, "Acme", personal: false);
        for (var i = 1; i <= 11; i++)
        {
            silo.Clock.Advance(TimeSpan.FromMinutes(1));
            await org.Rename(owner, $"Acme {i}");
        }

        var first = await org.GetAuditLog(owner, new AuditQuery(Limit: 5));
        Assert.Equal([12L, 11, 10, 9, 8], first.Entries.Select(e => e.Sequence));
        Assert.Equal(8, first.NextBefore);
        var top = first.Entries[0];
        Assert.Equal((owner.UserId, "organization.renamed", "Acme 10 -> Acme 11", "192.0.2.7"), (top.ActorUserId, top.Action, top.Target, top.ClientAddress));
        Assert.Equal(silo.Clock.GetUtcNow(), top.At);

        var second = await org.GetAuditLog(owner, new AuditQuery(first.NextBefore, 5));
        Assert.Equal([7L, 6, 5, 4, 3], second.Entries.Select(e => e.Sequence));
        var last = await org.GetAuditLog(owner, new AuditQuery(second.NextBefore, 5));
        Assert.Equal([2L, 1], last.Entries.Select(e => e.Sequence));
        Assert.Null(last.NextBefore);
        Assert.Equal("organization.created", last.Entries[^1].Action);
    }

    internal static async Task JoinAsync(AccountsSilo silo, IOrganizationGrain org, Caller inviter, Caller invitee, string role)
    {
        await org.Invite(inviter, invitee.Email, role);
        var token = await silo.TokenFromOutboxAsync(invitee.Email, OutboxKinds.Invitation, SecretToken.Invitation);
        await org.AcceptInvitation(invitee, token.Id, token.Secret);
    }
}
