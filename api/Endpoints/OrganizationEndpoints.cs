using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.Api.Sso;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Organizations;

namespace CloudDeck.Api.Endpoints;

/// <summary>Organizations, their members, invitations and audit log. The organization grain decides who may do what.</summary>
public static class OrganizationEndpoints
{
    public static RouteGroupBuilder MapOrganizationEndpoints(this RouteGroupBuilder api)
    {
        var orgs = api.MapGroup("/orgs").SignedIn().WithTags("Organizations");

        orgs.MapGet("", (HttpContext http, IGrainFactory grains) => Paging.ListAsync(http.Request,
            async () => (await grains.GetGrain<IUserGrain>(http.Caller().UserId).Get(http.Caller())).Organizations, o => o.Slug))
            .Describe("listOrganizations", "The organizations the caller belongs to").AnswersPage<MembershipView>();

        orgs.MapPost("", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var slug = body.String("slug", 40);
            var name = body.String("name", OrganizationGrain.MaxNameLength);
            if (slug is not null && !RouteValues.IsSlug(slug)) return JsonBody.FieldProblem("slug", RouteValues.SlugRule);
            if (body.Problem() is { } problem) return problem;
            var created = await grains.GetGrain<IOrganizationGrain>(slug!).Create(http.Caller(), name!, personal: false);
            return Results.Created($"/api/v1/orgs/{slug}", created);
        })
            .Describe("createOrganization", "Create an organization; the caller becomes its owner")
            .Takes<CreateOrganizationBody>().AnswersCreated<OrganizationView>().Refuses(400, 409, 429);

        var org = orgs.MapGroup("/{slug}").AddEndpointFilter(async (context, next) =>
            context.HttpContext.Request.RouteValues["slug"] is string slug && RouteValues.IsSlug(slug)
                ? await next(context)
                : JsonBody.FieldProblem("slug", RouteValues.SlugRule))
            .Refuses(400, 404);
        static IOrganizationGrain Org(IGrainFactory grains, string slug) => grains.GetGrain<IOrganizationGrain>(slug);

        org.MapGet("", async (string slug, HttpContext http, IGrainFactory grains) => Results.Ok(await Org(grains, slug).Get(http.Caller())))
            .Describe("getOrganization", "An organization, with the caller's role").Answers<OrganizationView>();

        org.MapPatch("", async (string slug, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var name = body.String("name", OrganizationGrain.MaxNameLength);
            if (body.Problem() is { } problem) return problem;
            return Results.Ok(await Org(grains, slug).Rename(http.Caller(), name!));
        })
            .Describe("renameOrganization", "Rename an organization (admins)").Takes<RenameOrganizationBody>().Answers<OrganizationView>();

        org.MapGet("/members", (string slug, HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => Org(grains, slug).ListMembers(http.Caller()), m => Paging.Key(m.JoinedAt, m.UserId)))
            .Describe("listMembers", "An organization's members and their roles").AnswersPage<MemberView>();

        org.MapPatch("/members/{userId}", async (string slug, string userId, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var role = body.String("role", 16);
            if (role is not null && !OrganizationRoles.IsValid(role)) return JsonBody.FieldProblem("role", $"must be one of {string.Join(", ", OrganizationRoles.All)}");
            if (!RouteValues.IsUserId(userId)) return JsonBody.FieldProblem("userId", "must be a user id");
            if (body.Problem() is { } problem) return problem;
            return Results.Ok(await Org(grains, slug).ChangeRole(http.Caller(), userId, role!));
        })
            .Describe("changeMemberRole", "Change a member's role (admins; only owners make owners)")
            .Takes<ChangeRoleBody>().Answers<MemberView>().Refuses(409);

        org.MapDelete("/members/{userId}", async (string slug, string userId, HttpContext http, IGrainFactory grains) =>
        {
            if (!RouteValues.IsUserId(userId)) return JsonBody.FieldProblem("userId", "must be a user id");
            await Org(grains, slug).RemoveMember(http.Caller(), userId);
            return Results.NoContent();
        })
            .Describe("removeMember", "Remove a member, or leave (admins, or the member themself)").AnswersEmpty().Refuses(409);

        org.MapGet("/invitations", (string slug, HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => Org(grains, slug).ListInvitations(http.Caller()), i => Paging.Key(i.CreatedAt, i.Id)))
            .Describe("listInvitations", "Pending invitations (admins)").AnswersPage<InvitationView>();

        org.MapPost("/invitations", async (string slug, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var email = body.Email("email");
            var role = body.String("role", 16);
            if (role is not null && !OrganizationRoles.IsValid(role)) return JsonBody.FieldProblem("role", $"must be one of {string.Join(", ", OrganizationRoles.All)}");
            if (body.Problem() is { } problem) return problem;
            var invitation = await Org(grains, slug).Invite(http.Caller(), email!, role!);
            return Results.Created($"/api/v1/orgs/{slug}/invitations/{invitation.Id}", invitation);
        })
            .Describe("inviteMember", "Invite an email address with a role (admins); the invitation is emailed")
            .Takes<InviteBody>().AnswersCreated<InvitationView>().Refuses(402, 409);

        org.MapDelete("/invitations/{invitationId}", async (string slug, string invitationId, HttpContext http, IGrainFactory grains) =>
        {
            if (!RouteValues.IsId(invitationId)) return JsonBody.FieldProblem("invitationId", "must be an invitation id (16 hex characters)");
            await Org(grains, slug).RevokeInvitation(http.Caller(), invitationId);
            return Results.NoContent();
        })
            .Describe("revokeInvitation", "Revoke a pending invitation (admins)").AnswersEmpty();

        org.MapGet("/audit", async (string slug, HttpContext http, IGrainFactory grains) =>
        {
            if (!Paging.TryReadSequence(http.Request, out var limit, out var before, out var problem)) return problem!;
            var page = await Org(grains, slug).GetAuditLog(http.Caller(), new AuditQuery(before, limit));
            return Results.Ok(Paging.Sequenced(page.Entries, page.NextBefore));
        })
            .Describe("getAuditLog", "The audit log, newest first (admins)").AnswersPage<AuditEntry>();

        org.MapGet("/quotas", async (string slug, HttpContext http, IGrainFactory grains) => Results.Ok(await Org(grains, slug).GetQuotas(http.Caller())))
            .Describe("getQuotas", "The plan's limits and what is used of each").Answers<QuotaUsageView>();

        // Owners change the plan here until billing owns it.
        org.MapPut("/plan", async (string slug, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var plan = body.String("plan", 16);
            if (plan is not null && !PlanNames.IsValid(plan)) return JsonBody.FieldProblem("plan", $"must be one of {string.Join(", ", PlanNames.All)}");
            if (body.Problem() is { } problem) return problem;
            return Results.Ok(await Org(grains, slug).ChangePlan(http.Caller(), plan!));
        })
            .Describe("changePlan", "Change the organization's plan (owners; 409 when billing decides plans)").Takes<ChangePlanBody>().Answers<OrganizationView>().Refuses(409);

        // SSO enforcement: members sign in with this provider only (no password, no other provider).
        org.MapPut("/sso", async (string slug, HttpContext http, IGrainFactory grains, SsoProviders providers) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var provider = body.String("provider", 32);
            if (body.Problem() is { } problem) return problem;
            if (providers.Find(provider) is null)
            {
                return JsonBody.FieldProblem("provider", $"must be one of the configured identity providers ({string.Join(", ", providers.All.Select(p => p.Name))})");
            }

            return Results.Ok(await Org(grains, slug).RequireSso(http.Caller(), provider));
        })
            .Describe("requireSso", "Require members to sign in with an identity provider (owners)",
                "From then on the members' password sign-in answers 403. The caller must have signed in with that provider once (409 otherwise).")
            .Takes<RequireSsoBody>().Answers<SsoRequirementView>().Refuses(409);

        org.MapDelete("/sso", async (string slug, HttpContext http, IGrainFactory grains) =>
        {
            await Org(grains, slug).RequireSso(http.Caller(), null);
            return Results.NoContent();
        })
            .Describe("liftSsoRequirement", "Let members sign in with a password again (owners)").AnswersEmpty();

        var invitations = api.MapGroup("/invitations").SignedIn().WithTags("Invitations");

        invitations.MapPost("/accept", async (HttpContext http, IGrainFactory grains) =>
        {
            var (token, problem) = await ReadInvitationToken(http);
            return problem ?? Results.Ok(await Org(grains, token!.Owner).AcceptInvitation(http.Caller(), token.Id, token.Secret));
        })
            .Describe("acceptInvitation", "Join an organization with the token from an invitation email")
            .Takes<OneTimeTokenBody>().Answers<MembershipView>().Refuses(400, 402, 404, 409, 410);

        invitations.MapPost("/decline", async (HttpContext http, IGrainFactory grains) =>
        {
            var (token, problem) = await ReadInvitationToken(http);
            if (problem is not null) return problem;
            await Org(grains, token!.Owner).DeclineInvitation(http.Caller(), token.Id, token.Secret);
            return Results.NoContent();
        })
            .Describe("declineInvitation", "Decline an invitation with the token from its email")
            .Takes<OneTimeTokenBody>().AnswersEmpty().Refuses(400, 404, 410);

        return api;
    }

    private static async Task<(SecretToken? Token, IResult? Problem)> ReadInvitationToken(HttpContext http)
    {
        var body = await JsonBody.ReadAsync(http.Request);
        var text = body.String("token", 512);
        if (body.Problem() is { } problem) return (null, problem);
        return SecretToken.TryParse(text, SecretToken.Invitation, out var token) && RouteValues.IsSlug(token.Owner)
            ? (token, null)
            : (null, JsonBody.FieldProblem("token", "is not an invitation token"));
    }
}
