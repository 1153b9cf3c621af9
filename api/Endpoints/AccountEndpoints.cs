using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Api.Endpoints;

/// <summary>The signed-in user's own account: profile, password, sessions, MFA and API tokens.</summary>
public static class AccountEndpoints
{
    public static RouteGroupBuilder MapAccountEndpoints(this RouteGroupBuilder api)
    {
        var me = api.MapGroup("/me").RequireAuthorization();
        static IUserGrain User(HttpContext http, IGrainFactory grains) => grains.GetGrain<IUserGrain>(http.Caller().UserId);

        me.MapGet("", async (HttpContext http, IGrainFactory grains) => Results.Ok(await User(http, grains).Get(http.Caller())));

        me.MapPost("/password", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var current = body.String("currentPassword", Passwords.MaxLength);
            var next = body.String("newPassword", Passwords.MaxLength);
            if (body.Problem() is { } problem) return problem;
            await User(http, grains).ChangePassword(http.Caller(), current!, next!);
            return Results.NoContent();
        });

        me.MapGet("/sessions", (HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => User(http, grains).ListSessions(http.Caller()), s => Paging.Key(s.CreatedAt, s.Id)));

        me.MapPost("/mfa/enroll", async (HttpContext http, IGrainFactory grains) => Results.Ok(await User(http, grains).EnrollMfa(http.Caller())));

        me.MapPost("/mfa/verify", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var code = body.String("code", 32);
            if (body.Problem() is { } problem) return problem;
            return Results.Ok(await User(http, grains).ConfirmMfa(http.Caller(), code!));
        });

        me.MapPost("/mfa/disable", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var code = body.String("code", 32);
            if (body.Problem() is { } problem) return problem;
            await User(http, grains).DisableMfa(http.Caller(), code!);
            return Results.NoContent();
        });

        me.MapGet("/tokens", (HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => User(http, grains).ListApiTokens(http.Caller()), t => Paging.Key(t.CreatedAt, t.Id)));

        me.MapPost("/tokens", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var name = body.String("name", UserGrain.MaxApiTokenNameLength);
            var scopes = body.StringList("scopes", ApiTokenScopes.All.Count, 16);
            var expiresAt = body.OptionalDateTime("expiresAt");
            if (body.Problem() is { } problem) return problem;
            var created = await User(http, grains).CreateApiToken(http.Caller(), new CreateApiToken(name!, scopes!, expiresAt));
            return Results.Created($"/api/v1/me/tokens/{created.Details.Id}", created);
        });

        me.MapDelete("/tokens/{tokenId}", async (string tokenId, HttpContext http, IGrainFactory grains) =>
        {
            if (!RouteValues.IsId(tokenId)) return JsonBody.FieldProblem("tokenId", "must be a token id (16 hex characters)");
            await User(http, grains).RevokeApiToken(http.Caller(), tokenId);
            return Results.NoContent();
        });

        return api;
    }
}
