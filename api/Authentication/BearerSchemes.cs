using System.Security.Claims;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;

namespace CloudDeck.Api.Authentication;

/// <summary>
/// <c>Authorization: Bearer …</c> on the framework's handlers. <see cref="Default"/> is a policy scheme that looks at the
/// token and forwards to <see cref="Session"/> (JwtBearer: an access token the user grain issued, checked against the
/// signing key by <see cref="AccessTokens.ValidationParameters"/>) or to <see cref="ApiToken"/> (<c>cdk_…</c>, checked by its
/// user grain, which holds its hash). Either answers a refusal as ProblemDetails.
/// </summary>
public static class BearerSchemes
{
    /// <summary>The scheme endpoints and hubs ask for: picks <see cref="Session"/> or <see cref="ApiToken"/> by the token's form.</summary>
    public const string Default = "Bearer";

    public const string Session = "Session";
    public const string ApiToken = "ApiToken";

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

    public static IServiceCollection AddCloudDeckAuthentication(this IServiceCollection services)
    {
        services.AddAuthentication(Default)
            .AddPolicyScheme(Default, "A session's access token or an API token", options => options.ForwardDefaultSelector = Select)
            .AddJwtBearer(Session, options =>
            {
                // Claims keep their JWT names (sub, email, sid), as the user grain wrote them.
                options.MapInboundClaims = false;
                options.SaveToken = false;
                options.Events = new JwtBearerEvents
                {
                    OnMessageReceived = context =>
                    {
                        if (context.Request.Headers.Authorization.Count == 0 && QueryToken(context.Request) is { } token) context.Token = token;
                        return Task.CompletedTask;
                    },
                    OnChallenge = async context =>
                    {
                        context.HandleResponse();
                        await ChallengeAsync(context.HttpContext);
                    },
                    OnForbidden = context => ForbiddenAsync(context.HttpContext),
                };
            })
            .AddScheme<AuthenticationSchemeOptions, ApiTokenAuthenticationHandler>(ApiToken, null);
        // The same key, issuer, audience, algorithm and clock as the tokens are issued with.
        services.AddOptions<JwtBearerOptions>(Session)
            .Configure<AccessTokens>((options, tokens) => options.TokenValidationParameters = tokens.ValidationParameters);
        services.AddAuthorization(options => options.DefaultPolicy = DefaultPolicy);
        return services;
    }

    /// <summary>API tokens by their prefix; everything else (a JWT, a malformed token, no token) is the session scheme's to judge.</summary>
    private static string Select(HttpContext http) =>
        Token(http.Request) is { } token && token.StartsWith(SecretToken.ApiToken + "_", StringComparison.Ordinal) ? ApiToken : Session;

    /// <summary>The bearer token of the request: the Authorization header's, or on a hub path the query's; null when there is none.</summary>
    public static string? Token(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header)) return QueryToken(request);
        return header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? header[Prefix.Length..].Trim() : null;
    }

    /// <summary>
    /// Browsers cannot set headers on WebSocket and EventSource requests, so SignalR's clients send the token as
    /// <c>?access_token=</c>. Accepted on hub paths only: elsewhere a token in a URL would end up in proxies' logs and
    /// browser history for no reason. Our own logs redact it (<see cref="Logging.SecretRedactingLoggerFactory"/>).
    /// </summary>
    private static string? QueryToken(HttpRequest request) =>
        request.Path.StartsWithSegments(HubsPath, StringComparison.OrdinalIgnoreCase)
        && request.Query[AccessTokenQueryParameter] is [{ Length: > 0 } token]
            ? token.Trim()
            : null;

    /// <summary>
    /// What <c>RequireAuthorization()</c> asks: a signed-in caller, and for an API token an account whose email is
    /// verified. Tokens can no longer be minted unverified; this refuses ones made before that rule.
    /// </summary>
    public static AuthorizationPolicy DefaultPolicy { get; } = new AuthorizationPolicyBuilder(Default)
        .RequireAuthenticatedUser()
        .RequireAssertion(context => context.User.FindFirstValue(KindClaim) != ApiTokenKind || IsEmailVerified(context.User))
        .Build();

    public static bool IsEmailVerified(ClaimsPrincipal user) =>
        bool.TryParse(user.FindFirstValue(AccessTokens.EmailVerifiedClaim), out var verified) && verified;

    /// <summary>No credential, or one refused (expired, tampered, another key, <c>alg: none</c>, revoked): 401, saying how to sign in.</summary>
    public static async Task ChallengeAsync(HttpContext http)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Authentication required",
            detail: "Send 'Authorization: Bearer <token>' with an access token from POST /api/v1/auth/login or an API token.")
            .ExecuteAsync(http);
    }

    /// <summary>The default policy's one refusal of an authenticated caller: an API token of an unverified account.</summary>
    public static Task ForbiddenAsync(HttpContext http) =>
        Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: Caller.VerifyEmailFirst).ExecuteAsync(http);
}
