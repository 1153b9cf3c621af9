using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Api.Endpoints;

/// <summary>The signed-in user's own account: profile, password, sessions, MFA, API tokens and the emails sent to it.</summary>
public static class AccountEndpoints
{
    public static RouteGroupBuilder MapAccountEndpoints(this RouteGroupBuilder api)
    {
        var me = api.MapGroup("/me").SignedIn().WithTags("Account");
        static IUserGrain User(HttpContext http, IGrainFactory grains) => grains.GetGrain<IUserGrain>(http.Caller().UserId);

        me.MapGet("", async (HttpContext http, IGrainFactory grains) => Results.Ok(await User(http, grains).Get(http.Caller())))
            .Describe("getAccount", "The signed-in account and its organizations").Answers<AccountView>();

        me.MapPost("/password", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var current = body.String("current_password", Passwords.MaxLength);
            var next = body.String("new_password", Passwords.MaxLength);
            if (body.Problem() is { } problem) return problem;
            await User(http, grains).ChangePassword(http.Caller(), current!, next!);
            return Results.NoContent();
        })
            .Describe("changePassword", "Change the password").SessionOnly()
            .Takes<ChangePasswordBody>().AnswersEmpty().Refuses(400, 429);

        me.MapGet("/sessions", (HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => User(http, grains).ListSessions(http.Caller()), s => Paging.Key(s.CreatedAt, s.Id)))
            .Describe("listSessions", "The account's live sessions").AnswersPage<SessionView>();

        me.MapPost("/mfa/enroll", async (HttpContext http, IGrainFactory grains) => Results.Ok(await User(http, grains).EnrollMfa(http.Caller())))
            .Describe("enrollMfa", "Start MFA enrollment: a new authenticator's otpauth URI").SessionOnly()
            .Answers<MfaEnrollment>().Refuses(409);

        me.MapPost("/mfa/verify", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var code = body.String("code", 32);
            if (body.Problem() is { } problem) return problem;
            return Results.Ok(await User(http, grains).ConfirmMfa(http.Caller(), code!));
        })
            .Describe("confirmMfa", "Turn MFA on with a code from the enrolled authenticator; answers recovery codes, shown once").SessionOnly()
            .Takes<MfaCodeBody>().Answers<RecoveryCodes>().Refuses(400, 409);

        me.MapPost("/mfa/disable", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var code = body.String("code", 32);
            if (body.Problem() is { } problem) return problem;
            await User(http, grains).DisableMfa(http.Caller(), code!);
            return Results.NoContent();
        })
            .Describe("disableMfa", "Turn MFA off with a current code").SessionOnly()
            .Takes<MfaCodeBody>().AnswersEmpty().Refuses(400, 409, 429);

        me.MapGet("/tokens", (HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => User(http, grains).ListApiTokens(http.Caller()), t => Paging.Key(t.CreatedAt, t.Id)))
            .Describe("listApiTokens", "The account's API tokens (never their secrets)").AnswersPage<ApiTokenView>();

        me.MapPost("/tokens", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var name = body.String("name", UserGrain.MaxApiTokenNameLength);
            var scopes = body.StringList("scopes", ApiTokenScopes.All.Count, 16);
            var expiresAt = body.OptionalDateTime("expires_at");
            if (body.Problem() is { } problem) return problem;
            var created = await User(http, grains).CreateApiToken(http.Caller(), new CreateApiToken(name!, scopes!, expiresAt));
            return Results.Created($"/api/v1/me/tokens/{created.Details.Id}", created);
        })
            .Describe("createApiToken", "Create an API token; its secret is in this answer only")
            .Takes<CreateApiTokenBody>().AnswersCreated<CreatedApiToken>().Refuses(400, 409);

        me.MapDelete("/tokens/{tokenId}", async (string tokenId, HttpContext http, IGrainFactory grains) =>
        {
            if (!RouteValues.IsId(tokenId)) return JsonBody.FieldProblem("tokenId", "must be a token id (16 hex characters)");
            await User(http, grains).RevokeApiToken(http.Caller(), tokenId);
            return Results.NoContent();
        })
            .Describe("revokeApiToken", "Revoke an API token").AnswersEmpty().Refuses(400, 404);

        me.MapGet("/emails", (HttpContext http, IGrainFactory grains) =>
        {
            var caller = http.Caller();
            if (!caller.HasScope(ApiTokenScopes.Read)) throw new ForbiddenException($"This API token lacks the '{ApiTokenScopes.Read}' scope.");
            return Paging.ListAsync(http.Request, () => grains.GetGrain<IOutboxGrain>(EmailAddresses.Normalize(caller.Email)).Deliveries(),
                email => Paging.NewestFirstKey(email.CreatedAt, email.MessageId));
        })
            .Describe("listEmails", "The emails sent to this account's address, newest first, and where each one's delivery stands (never bodies or links)")
            .AnswersPage<EmailDeliveryView>();

        return api;
    }
}
