using System.Security.Cryptography;
using System.Text;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.Api.Sso;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// Sign-in with an operator-configured identity provider. A client (<c>deck login --sso</c>) listens on a loopback port
/// and opens <c>start</c> in the browser with its redirect URI and a PKCE challenge; the browser goes to the provider and
/// back to <c>callback</c>, which checks the answer, signs the account in, and sends the browser on to the client with a
/// one-time code; the client trades it, with its PKCE verifier, for the session's tokens at <c>token</c>.
/// </summary>
public static class SsoEndpoints
{
    /// <summary>Ties the callback to the browser that started the sign-in, so nobody can finish a sign-in in someone else's browser.</summary>
    public const string BindingCookie = "cd_sso";

    public const string HandoffPrefix = "cds";

    private const string HandoffId = "h";

    public const string StartRateLimitPolicy = "sso-start";
    private const int MaxTokenLength = 512;

    public static RouteGroupBuilder MapSsoEndpoints(this RouteGroupBuilder api)
    {
        var sso = api.MapGroup("/auth/sso").AllowAnonymous().WithTags("Auth");

        sso.MapGet("/providers", (SsoProviders providers) =>
            Results.Ok(new SsoProvidersAnswer([.. providers.All.Select(p => new SsoProviderView(p.Name, p.DisplayName, p.Kind))], null)))
            .Describe("listSsoProviders", "The identity providers this installation signs in with")
            .Answers<SsoProvidersAnswer>();

        var start = sso.MapGet("/{provider}/start", async (string provider, [FromQuery(Name = "redirect_uri")] string? redirectUri,
            [FromQuery(Name = "code_challenge")] string? codeChallenge, [FromQuery(Name = "code_challenge_method")] string? codeChallengeMethod,
            HttpContext http, IGrainFactory grains, SsoProviders providers, IOptions<AuthOptions> auth, TimeProvider clock) =>
        {
            if (providers.Find(provider) is not { } chosen) return UnknownProvider(provider);
            if (!IsLoopbackRedirect(redirectUri)) return JsonBody.FieldProblem("redirect_uri", "must be an http URL on 127.0.0.1, [::1] or localhost with a port (the client's loopback listener)");
            if (!IsS256Challenge(codeChallenge)) return JsonBody.FieldProblem("code_challenge", "must be the base64url SHA-256 of a PKCE code verifier (43 characters)");
            if (codeChallengeMethod is not (null or "S256")) return JsonBody.FieldProblem("code_challenge_method", "must be S256");

            var attemptId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            var nonce = Secrets.NewSecret();
            var verifier = Secrets.NewSecret();
            var binding = Secrets.NewSecret();
            var lifetime = providers.Options.AttemptLifetime;
            Uri destination;
            try
            {
                destination = await chosen.AuthorizationUrlAsync(attemptId, nonce, Challenge(verifier), CallbackUrl(auth.Value, chosen), http.RequestAborted);
            }
            catch (SsoRefusedException e)
            {
                return Results.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Identity provider unavailable", detail: e.Message);
            }

            await grains.GetGrain<ISsoAttemptGrain>(attemptId).Begin(new SsoAttempt(chosen.Name, nonce, verifier, Secrets.Hash(binding),
                redirectUri!, codeChallenge!, clock.GetUtcNow() + lifetime));
            http.Response.Cookies.Append(BindingCookie, binding, new CookieOptions
            {
                HttpOnly = true, Secure = http.Request.IsHttps, SameSite = SameSiteMode.Lax, Path = "/api/v1/auth/sso", MaxAge = lifetime, IsEssential = true,
            });
            return Results.Redirect(destination.AbsoluteUri);
        })
            .Describe("startSsoSignIn", "Begin a sign-in with an identity provider",
                "Redirects the browser to the provider. redirect_uri is the client's loopback listener, which receives a one-time code " +
                "(or an error) once the provider sends the browser back; the client redeems the code at POST /api/v1/auth/sso/token.")
            .AnswersRedirect("the provider's authorization endpoint").Refuses(400, 404, 429, 502);
        if (((IEndpointRouteBuilder)api).ServiceProvider.GetRequiredService<SsoOptions>().StartsPerMinutePerAddress > 0) start.RequireRateLimiting(StartRateLimitPolicy);

        sso.MapGet("/{provider}/callback", async (string provider, string? code, string? state, string? error,
            [FromQuery(Name = "error_description")] string? errorDescription, HttpContext http, IGrainFactory grains, SsoProviders providers,
            IOptions<AuthOptions> auth, ILoggerFactory loggers) =>
        {
            if (providers.Find(provider) is not { } chosen) return UnknownProvider(provider);
            if (!SsoAttemptIds.IsWellFormed(state)) return JsonBody.FieldProblem("state", "is not a sign-in this server started");
            var attemptGrain = grains.GetGrain<ISsoAttemptGrain>(state!);
            var attempt = await attemptGrain.Take();
            if (attempt is null || attempt.Provider != chosen.Name) return JsonBody.FieldProblem("state", "is not a sign-in this server started, has expired, or was already used");
            var binding = http.Request.Cookies[BindingCookie];
            http.Response.Cookies.Delete(BindingCookie, new CookieOptions { Path = "/api/v1/auth/sso" });
            if (binding is null || !Secrets.Matches(attempt.BrowserBindingHash, binding))
            {
                return JsonBody.FieldProblem("state", "belongs to a sign-in started in another browser");
            }

            var log = loggers.CreateLogger(typeof(SsoEndpoints));
            if (error is not null) return BackToClient(attempt, ("error", "access_denied"), ("error_description", $"The provider '{chosen.Name}' answered: {error}{(errorDescription is null ? "" : " (" + errorDescription + ")")}"));
            if (string.IsNullOrEmpty(code)) return BackToClient(attempt, ("error", "invalid_request"), ("error_description", $"The provider '{chosen.Name}' sent no code."));

            LoginResult result;
            try
            {
                var identity = await chosen.CompleteAsync(code, attempt.CodeVerifier, attempt.Nonce, CallbackUrl(auth.Value, chosen), http.RequestAborted);
                result = await grains.GetGrain<IExternalIdentityGrain>(identity.Key).SignIn(identity, http.ClientAddress());
            }
            catch (SsoRefusedException e)
            {
                SsoLog.Refused(log, chosen.Name, e.Message);
                return BackToClient(attempt, ("error", "access_denied"), ("error_description", e.Message));
            }
            catch (ForbiddenException e)
            {
                SsoLog.Refused(log, chosen.Name, e.Message);
                return BackToClient(attempt, ("error", "access_denied"), ("error_description", e.Message));
            }

            switch (result.Status)
            {
                case LoginStatus.Succeeded or LoginStatus.MfaRequired:
                    var secret = await attemptGrain.Hold(result);
                    return BackToClient(attempt, ("code", new SecretToken(HandoffPrefix, state!, HandoffId, secret).ToString()));
                case LoginStatus.SsoRequired:
                    return BackToClient(attempt, ("error", "access_denied"), ("error_description", SsoRequiredText(result)));
                default:
                    return BackToClient(attempt, ("error", "access_denied"), ("error_description", $"The identity from '{chosen.Name}' is not linked to an account."));
            }
        })
            .Describe("finishSsoSignIn", "Where the identity provider sends the browser back",
                "Checks state (and that the same browser started it), exchanges the code with PKCE, validates the ID token (signature, issuer, " +
                "audience, expiry, nonce) and redirects to the client's redirect_uri with a one-time code or an error. Accounts are created or " +
                "linked only by an email the provider verified.")
            .AnswersRedirect("the client's redirect_uri, with a one-time code or an error").Refuses(400, 404);

        sso.MapPost("/token", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var text = body.String("code", MaxTokenLength);
            var verifier = body.String("code_verifier", 128);
            if (body.Problem() is { } problem) return problem;
            if (!SecretToken.TryParse(text, HandoffPrefix, out var code) || code.Id != HandoffId || !SsoAttemptIds.IsWellFormed(code.Owner))
            {
                return JsonBody.FieldProblem("code", "is not a code from a sign-in's redirect");
            }

            var result = await grains.GetGrain<ISsoAttemptGrain>(code.Owner).Redeem(code.Secret, verifier!);
            if (result is null)
            {
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in failed",
                    detail: "The code is unknown, expired or already used, or the code_verifier does not match the sign-in's code_challenge.");
            }

            return AuthEndpoints.LoginAnswer(http, result);
        })
            .Describe("redeemSsoCode", "Trade a sign-in's one-time code for the session's tokens",
                "Answers a session's tokens, or an MFA challenge to finish at POST /api/v1/auth/login/mfa when the account has MFA.")
            .Takes<SsoTokenBody>().AnswersOneOf<TokenPair, MfaRequiredAnswer>().Refuses(400, 401);

        return api;
    }

    /// <summary>The redirect URI registered with every provider: under the public base URL the email links use.</summary>
    public static string CallbackUrl(AuthOptions auth, SsoProvider provider) =>
        $"{auth.LinkBaseUrl.TrimEnd('/')}/api/v1/auth/sso/{provider.Name}/callback";

    public static string SsoRequiredText(LoginResult result) =>
        $"The organization '{result.SsoOrganization}' requires its members to sign in with '{result.SsoProvider}': " +
        $"use GET /api/v1/auth/sso/{result.SsoProvider}/start (deck login --sso {result.SsoProvider}).";

    private static IResult UnknownProvider(string provider) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No identity provider named '{provider}' is configured.");

    /// <summary>RFC 8252 §7.3: only a loopback listener on this machine may receive the code.</summary>
    private static bool IsLoopbackRedirect(string? value) =>
        value is { Length: <= 512 } && Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp
        && uri.Host is "127.0.0.1" or "[::1]" or "localhost" && !uri.IsDefaultPort && string.IsNullOrEmpty(uri.Fragment) && string.IsNullOrEmpty(uri.UserInfo);

    private static bool IsS256Challenge(string? value) =>
        value is { Length: 43 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static string Challenge(string verifier) =>
        Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static IResult BackToClient(SsoAttempt attempt, params (string Name, string Value)[] parameters)
    {
        var query = string.Join('&', parameters.Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value)}"));
        var target = attempt.ClientRedirect + (attempt.ClientRedirect.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;
        return Results.Redirect(target);
    }
}

internal static partial class SsoLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Sign-in with {Provider} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string provider, string reason);
}
