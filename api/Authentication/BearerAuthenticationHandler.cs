using System.Security.Claims;
using System.Text.Encodings.Web;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace CloudDeck.Api.Authentication;

/// <summary>
/// <c>Authorization: Bearer …</c> with either an access token (a JWT the user grain issued, checked here
/// against the signing key) or an API token (<c>cdk_…</c>, checked by its user grain, which holds its hash).
/// Written over JsonWebTokenHandler because the JwtBearer package does not restore from this feed.
/// </summary>
public sealed class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AccessTokens accessTokens,
    IGrainFactory grains) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";
    public const string ScopeClaim = "cd_scope";
    public const string KindClaim = "cd_kind";

    /// <summary>An API token's id (not its secret): what per-token limits are keyed by.</summary>
    public const string TokenIdClaim = "cd_token";
    public const string ApiTokenKind = "api_token";

    /// <summary>Where a token may come in the query string instead of the header: SignalR hubs only.</summary>
    public const string HubsPath = "/hubs";

    /// <summary>The query parameter SignalR's clients put the token in when a transport cannot send headers.</summary>
    public const string AccessTokenQueryParameter = "access_token";

    private const string Prefix = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        string token;
        if (!string.IsNullOrEmpty(header))
        {
            if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                return AuthenticateResult.Fail("The Authorization header is not 'Bearer <token>'.");
            }

            token = header[Prefix.Length..].Trim();
        }
        else if (QueryToken() is { } queryToken)
        {
            token = queryToken;
        }
        else
        {
            return AuthenticateResult.NoResult();
        }

        ClaimsIdentity? identity;
        if (SecretToken.TryParse(token, SecretToken.ApiToken, out var apiToken))
        {
            // Only a well-formed user id reaches GetGrain: anonymous requests must not activate a grain per made-up owner.
            var holder = UserIds.IsWellFormed(apiToken.Owner)
                ? await grains.GetGrain<IUserGrain>(apiToken.Owner).AuthenticateApiToken(apiToken.Id, apiToken.Secret)
                : null;
            identity = holder is null ? null : new ClaimsIdentity(
            [
                new Claim("sub", holder.UserId),
                new Claim(AccessTokens.EmailClaim, holder.Email),
                new Claim(AccessTokens.EmailVerifiedClaim, holder.EmailVerified ? "true" : "false", ClaimValueTypes.Boolean),
                new Claim(KindClaim, ApiTokenKind),
                new Claim(TokenIdClaim, apiToken.Id),
                .. holder.Scopes.Select(scope => new Claim(ScopeClaim, scope)),
            ], SchemeName, "sub", null);
        }
        else
        {
            identity = await accessTokens.ValidateAsync(token);
        }

        // The failure message is logged by the framework: it must never quote the token.
        return identity is null
            ? AuthenticateResult.Fail("The bearer token is invalid, expired or revoked.")
            : AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    /// <summary>
    /// Browsers cannot set headers on WebSocket and EventSource requests, so SignalR's clients send the token as
    /// <c>?access_token=</c>. Accepted on hub paths only: elsewhere a token in a URL would end up in proxies' logs and
    /// browser history for no reason. Our own logs redact it (<see cref="Logging.SecretRedactingLoggerFactory"/>).
    /// </summary>
    private string? QueryToken() =>
        Request.Path.StartsWithSegments(HubsPath, StringComparison.OrdinalIgnoreCase)
        && Request.Query[AccessTokenQueryParameter] is [{ Length: > 0 } token]
            ? token.Trim()
            : null;

    /// <summary>
    /// What <c>RequireAuthorization()</c> asks: a signed-in caller, and for an API token an account whose email is
    /// verified. Tokens can no longer be minted unverified; this refuses ones made before that rule.
    /// </summary>
    public static AuthorizationPolicy DefaultPolicy { get; } = new AuthorizationPolicyBuilder(SchemeName)
        .RequireAuthenticatedUser()
        .RequireAssertion(context => context.User.FindFirstValue(KindClaim) != ApiTokenKind || IsEmailVerified(context.User))
        .Build();

    public static bool IsEmailVerified(ClaimsPrincipal user) =>
        bool.TryParse(user.FindFirstValue(AccessTokens.EmailVerifiedClaim), out var verified) && verified;

    /// <summary>The default policy's one refusal of an authenticated caller: an API token of an unverified account.</summary>
    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: Caller.VerifyEmailFirst)
            .ExecuteAsync(Context);

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Authentication required",
            detail: "Send 'Authorization: Bearer <token>' with an access token from POST /api/v1/auth/login or an API token.")
            .ExecuteAsync(Context);
    }
}

public static class CallerExtensions
{
    /// <summary>The authenticated caller, as grains see it.</summary>
    public static Caller Caller(this HttpContext http) => http.User.ToCaller(http.ClientAddress());

    /// <summary>The caller an authenticated principal stands for (also a hub connection's <c>Context.User</c>).</summary>
    public static Caller ToCaller(this ClaimsPrincipal user, string clientAddress)
    {
        var userId = user.FindFirstValue("sub") ?? throw new InvalidOperationException("The endpoint needs RequireAuthorization().");
        var email = user.FindFirstValue(AccessTokens.EmailClaim) ?? "";
        IReadOnlyList<string>? scopes = user.FindFirstValue(BearerAuthenticationHandler.KindClaim) == BearerAuthenticationHandler.ApiTokenKind
            ? [.. user.FindAll(BearerAuthenticationHandler.ScopeClaim).Select(c => c.Value)]
            : null;
        return new Caller(userId, email, clientAddress, scopes, BearerAuthenticationHandler.IsEmailVerified(user));
    }

    public static string ClientAddress(this HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
