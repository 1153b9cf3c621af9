using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Api.Endpoints;

/// <summary>Anonymous account flows: sign-up, email verification, login (one or two steps), refresh, logout, password reset.</summary>
public static class AuthEndpoints
{
    public const int MaxNameLength = DisplayNames.MaxLength;
    private const int MaxTokenLength = 512;

    public static RouteGroupBuilder MapAuthEndpoints(this RouteGroupBuilder api)
    {
        var auth = api.MapGroup("/auth").AllowAnonymous().WithTags("Auth");

        auth.MapPost("/signup", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var email = body.Email("email");
            var password = body.String("password", Passwords.MaxLength);
            var name = body.String("name", MaxNameLength, required: false);
            if (body.Problem() is { } problem) return problem;
            var normalized = EmailAddresses.Normalize(email!);
            // Without a name, the address's local part, shortened: it may be longer than a name may be.
            var chosen = string.IsNullOrWhiteSpace(name) ? DisplayNames.Truncate(normalized.Split('@')[0], MaxNameLength) : name.Trim();
            // Null when the address already had an account (its owner is emailed instead): the answer is the same either
            // way, so sign-up does not tell who is registered. The email tells each recipient the truth.
            _ = await grains.GetGrain<IEmailIndexGrain>(normalized)
                .SignUp(new SignUpRequest(normalized, password!, chosen, http.ClientAddress()));
            return Results.Accepted(value: new SignUpAnswer(normalized, SignUpAnswer.Text));
        })
            .Describe("signUp", "Create an account", "Answers alike whether or not the address already had an account (its owner is emailed instead); a new account can sign in at once.")
            .Takes<SignUpBody>().Answers<SignUpAnswer>(202).Refuses(400, 429);

        auth.MapPost("/verify-email", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var text = body.String("token", MaxTokenLength);
            if (body.Problem() is { } problem) return problem;
            if (!TryParseUserToken(text, SecretToken.EmailVerification, out var token)) return JsonBody.FieldProblem("token", "is not an email verification token");
            await grains.GetGrain<IUserGrain>(token.Owner).VerifyEmail(token.Id, token.Secret);
            return Results.NoContent();
        })
            .Describe("verifyEmail", "Verify an email address with the token from its email")
            .Takes<OneTimeTokenBody>().AnswersEmpty().Refuses(400, 401, 410);

        auth.MapPost("/login", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var email = body.Email("email");
            var password = body.String("password", Passwords.MaxLength);
            if (body.Problem() is { } problem) return problem;
            return LoginAnswer(http, await grains.GetGrain<IEmailIndexGrain>(EmailAddresses.Normalize(email!)).Login(password!, http.ClientAddress()));
        })
            .Describe("logIn", "Log in with email and password",
                "Answers a session's tokens, or an MFA challenge to finish at POST /api/v1/auth/login/mfa; 403 when an organization of the " +
                "account requires sign-in with its identity provider.")
            .Takes<LoginBody>().AnswersOneOf<TokenPair, MfaRequiredAnswer>().Refuses(400, 401, 403, 429);

        auth.MapPost("/login/mfa", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var text = body.String("challenge", MaxTokenLength);
            var code = body.String("code", 32);
            if (body.Problem() is { } problem) return problem;
            if (!TryParseUserToken(text, SecretToken.MfaChallenge, out var challenge)) return JsonBody.FieldProblem("challenge", "is not an MFA challenge from POST /api/v1/auth/login");
            var result = await grains.GetGrain<IUserGrain>(challenge.Owner).CompleteMfaLogin(challenge.Id, challenge.Secret, code!, http.ClientAddress());
            return LoginAnswer(http, result);
        })
            .Describe("logInWithMfa", "Finish a login with an authenticator or recovery code")
            .Takes<MfaLoginBody>().Answers<TokenPair>().Refuses(400, 401, 429);

        auth.MapPost("/refresh", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var text = body.String("refresh_token", MaxTokenLength);
            if (body.Problem() is { } problem) return problem;
            if (!TryParseUserToken(text, SecretToken.RefreshToken, out var token)) return JsonBody.FieldProblem("refresh_token", "is not a refresh token");
            return Results.Ok(await grains.GetGrain<IUserGrain>(token.Owner).Refresh(token.Id, token.Secret, http.ClientAddress()));
        })
            .Describe("refreshSession", "Renew a session's tokens", "The refresh token is rotated: each one works once, and a reused one revokes every session of its login.")
            .Takes<RefreshTokenBody>().Answers<TokenPair>().Refuses(400, 401);

        auth.MapPost("/logout", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var text = body.String("refresh_token", MaxTokenLength);
            if (body.Problem() is { } problem) return problem;
            if (!TryParseUserToken(text, SecretToken.RefreshToken, out var token)) return JsonBody.FieldProblem("refresh_token", "is not a refresh token");
            await grains.GetGrain<IUserGrain>(token.Owner).Logout(token.Id, token.Secret);
            return Results.NoContent();
        })
            .Describe("logOut", "End a session")
            .Takes<RefreshTokenBody>().AnswersEmpty().Refuses(400, 401);

        auth.MapPost("/password-reset", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var email = body.Email("email");
            if (body.Problem() is { } problem) return problem;
            // 202 whether or not the address has an account, so the answer does not tell who is registered.
            var normalized = EmailAddresses.Normalize(email!);
            await grains.GetGrain<IEmailIndexGrain>(normalized).RequestPasswordReset(http.ClientAddress());
            return Results.Accepted(value: new PasswordResetAnswer(normalized, PasswordResetAnswer.Text));
        })
            .Describe("requestPasswordReset", "Email a password reset link", "Answers alike whether or not the address has an account.")
            .Takes<EmailBody>().Answers<PasswordResetAnswer>(202).Refuses(400, 429);

        auth.MapPost("/password-reset/confirm", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var text = body.String("token", MaxTokenLength);
            var password = body.String("new_password", Passwords.MaxLength);
            if (body.Problem() is { } problem) return problem;
            if (!TryParseUserToken(text, SecretToken.PasswordReset, out var token)) return JsonBody.FieldProblem("token", "is not a password reset token");
            await grains.GetGrain<IUserGrain>(token.Owner).CompletePasswordReset(token.Id, token.Secret, password!);
            return Results.NoContent();
        })
            .Describe("resetPassword", "Set a new password with the token from a reset email")
            .Takes<PasswordResetBody>().AnswersEmpty().Refuses(400, 401, 410);

        return api;
    }

    /// <summary>What <c>POST /auth/signup</c> answers, whether or not the address already had an account.</summary>
    public sealed record SignUpAnswer(string Email, string Detail)
    {
        public const string Text =
            "We sent this address an email that says what happened. A new account can sign in now; the link in the email verifies the address.";
    }

    /// <summary>What <c>POST /auth/password-reset</c> answers, whether or not the address has an account.</summary>
    public sealed record PasswordResetAnswer(string Email, string Detail)
    {
        public const string Text = "If this address has an account, we sent it an email with a link to set a new password.";
    }

    /// <summary>
    /// Every token these routes take is held by a user grain: one whose owner is not a well-formed user id is
    /// refused like any other malformed token, before GetGrain, so anonymous requests cannot activate grains
    /// under made-up keys.
    /// </summary>
    private static bool TryParseUserToken(string? text, string prefix, out SecretToken token) =>
        SecretToken.TryParse(text, prefix, out token) && UserIds.IsWellFormed(token.Owner);

    /// <summary>A login step's result as HTTP: tokens, an MFA challenge, or a ProblemDetails refusal.</summary>
    internal static IResult LoginAnswer(HttpContext http, LoginResult result)
    {
        switch (result.Status)
        {
            case LoginStatus.Succeeded:
                return Results.Ok(result.Tokens);
            case LoginStatus.MfaRequired:
                return Results.Ok(new MfaRequiredAnswer(true, result.MfaChallenge!));
            case LoginStatus.SsoRequired:
                return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Sign-in with the organization's identity provider required",
                    detail: SsoEndpoints.SsoRequiredText(result),
                    extensions: new Dictionary<string, object?> { ["provider"] = result.SsoProvider, ["organization"] = result.SsoOrganization });
            case LoginStatus.Throttled:
                http.Response.Headers.RetryAfter = result.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many failed logins",
                    detail: $"Try again in {result.RetryAfterSeconds} seconds.");
            default:
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Login failed",
                    detail: "The email, password or code is wrong.");
        }
    }
}
