using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// Issues the short-lived access tokens (HS256 JWTs) that user grains hand out at login and refresh, and
/// says how the API validates them. Only HS256 is accepted, so <c>alg: none</c> and algorithm swaps fail.
/// </summary>
public sealed class AccessTokens(IOptions<AuthOptions> options, SigningKey key, TimeProvider clock)
{
    public const string SessionClaim = "sid";
    public const string EmailClaim = JwtRegisteredClaimNames.Email;

    /// <summary>OpenID Connect's name: whether the email was verified when the token was issued.</summary>
    public const string EmailVerifiedClaim = JwtRegisteredClaimNames.EmailVerified;

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SymmetricSecurityKey _securityKey = new(key.Bytes) { KeyId = "clouddeck-1" };

    public (string Token, DateTimeOffset ExpiresAt) Issue(string userId, string email, bool emailVerified, string sessionId)
    {
        var now = clock.GetUtcNow();
        var expires = now + options.Value.AccessTokenLifetime;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Subject = new ClaimsIdentity(
            [
                new Claim(JwtRegisteredClaimNames.Sub, userId),
                new Claim(EmailClaim, email),
                new Claim(EmailVerifiedClaim, emailVerified ? "true" : "false", ClaimValueTypes.Boolean),
                new Claim(SessionClaim, sessionId),
                new Claim(JwtRegisteredClaimNames.Jti, Secrets.NewId()),
            ]),
            SigningCredentials = new SigningCredentials(_securityKey, SecurityAlgorithms.HmacSha256),
        });
        return (token, expires);
    }

    /// <summary>
    /// What a valid access token is, for the API's JwtBearer handler: this issuer and audience, signed HS256 with this
    /// key (so <c>alg: none</c>, another key or another algorithm fails), not expired by the injected clock.
    /// </summary>
    public TokenValidationParameters ValidationParameters => new()
    {
        ValidIssuer = options.Value.Issuer,
        ValidAudience = options.Value.Audience,
        IssuerSigningKey = _securityKey,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        // Lifetime against the injected clock, so tests move time instead of sleeping.
        LifetimeValidator = (notBefore, expires, _, _) =>
        {
            var now = clock.GetUtcNow().UtcDateTime;
            return expires is { } end && end > now && (notBefore is not { } start || start <= now + TimeSpan.FromSeconds(30));
        },
        NameClaimType = JwtRegisteredClaimNames.Sub,
    };
}
