namespace CloudDeck.GrainInterfaces.Accounts;

public sealed record SignUpRequest(string Email, string Password, string Name, string ClientAddress);

public sealed record AccountView(string UserId, string Email, string Name, bool EmailVerified, bool MfaEnabled,
    DateTimeOffset CreatedAt, IReadOnlyList<MembershipView> Organizations);

public sealed record MembershipView(string Slug, string Name, string Role);

public sealed record SignUpResult(AccountView Account, string PersonalOrganization);

/// <summary>An access token (JWT) and the refresh token that renews it; the refresh token is rotated on every use.</summary>
public sealed record TokenPair(string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken,
    DateTimeOffset RefreshTokenExpiresAt, string TokenType = "Bearer");

public enum LoginStatus
{
    Succeeded,
    MfaRequired,
    InvalidCredentials,
    Throttled,
}

/// <summary>
/// The answer to a login step. <see cref="MfaChallenge"/> is set when the password was right and a second
/// factor is needed; <see cref="RetryAfterSeconds"/> when too many attempts failed.
/// </summary>
public sealed record LoginResult(LoginStatus Status, TokenPair? Tokens = null, string? MfaChallenge = null, int RetryAfterSeconds = 0)
{
    public static LoginResult Invalid { get; } = new(LoginStatus.InvalidCredentials);

    public static LoginResult Throttle(TimeSpan wait) =>
        new(LoginStatus.Throttled, RetryAfterSeconds: Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)));
}

public sealed record SessionView(string Id, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string ClientAddress);

public sealed record MfaEnrollment(string OtpAuthUri);

public sealed record RecoveryCodes(IReadOnlyList<string> Codes);

public sealed record CreateApiToken(string Name, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt);

public sealed record ApiTokenView(string Id, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt);

/// <summary>Shown once: <see cref="Token"/> is never stored or shown again.</summary>
public sealed record CreatedApiToken(ApiTokenView Details, string Token);

/// <summary>Who an API token acts for, when it is valid. The API refuses it (403) while <paramref name="EmailVerified"/> is false.</summary>
public sealed record ApiTokenIdentity(string UserId, string Email, IReadOnlyList<string> Scopes, bool EmailVerified = false);
