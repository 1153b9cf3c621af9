using System.Security.Claims;
using System.Text.Encodings.Web;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CloudDeck.Api.Authentication;

/// <summary>
/// The <see cref="BearerSchemes.ApiToken"/> scheme: <c>Authorization: Bearer cdk_…</c>, checked by the token's user grain
/// (which holds its hash, scopes and expiry). The caller acts as that user, limited to the token's scopes.
/// </summary>
public sealed class ApiTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IGrainFactory grains) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (BearerSchemes.Token(Request) is not { } token) return AuthenticateResult.NoResult();
        // Only a well-formed user id reaches GetGrain: anonymous requests must not activate a grain per made-up owner.
        var holder = SecretToken.TryParse(token, SecretToken.ApiToken, out var apiToken) && UserIds.IsWellFormed(apiToken.Owner)
            ? await grains.GetGrain<IUserGrain>(apiToken.Owner).AuthenticateApiToken(apiToken.Id, apiToken.Secret)
            : null;
        // The failure message is logged by the framework: it must never quote the token.
        if (holder is null) return AuthenticateResult.Fail("The API token is invalid, expired or revoked.");
        var identity = new ClaimsIdentity(
        [
            new Claim("sub", holder.UserId),
            new Claim(AccessTokens.EmailClaim, holder.Email),
            new Claim(AccessTokens.EmailVerifiedClaim, holder.EmailVerified ? "true" : "false", ClaimValueTypes.Boolean),
            new Claim(BearerSchemes.KindClaim, BearerSchemes.ApiTokenKind),
            new Claim(BearerSchemes.TokenIdClaim, apiToken.Id),
            .. holder.Scopes.Select(scope => new Claim(BearerSchemes.ScopeClaim, scope)),
        ], Scheme.Name, "sub", null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => BearerSchemes.ForbiddenAsync(Context);

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => BearerSchemes.ChallengeAsync(Context);
}
