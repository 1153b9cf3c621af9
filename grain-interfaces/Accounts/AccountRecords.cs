namespace CloudDeck.GrainInterfaces.Accounts;

[GenerateSerializer, Immutable, Alias("clouddeck.SignUpRequest")]
public sealed record SignUpRequest(string Email, string Password, string Name, string ClientAddress)
{
    // Records print every member, and Orleans traces messages with ToString: secrets stay out of it (here and below).
    public override string ToString() => $"SignUpRequest {{ Email = {Email}, Name = {Name}, ClientAddress = {ClientAddress} }}";
}

[GenerateSerializer, Immutable, Alias("clouddeck.AccountView")]
public sealed record AccountView(string UserId, string Email, string Name, bool EmailVerified, bool MfaEnabled,
    DateTimeOffset CreatedAt, IReadOnlyList<MembershipView> Organizations);

[GenerateSerializer, Immutable, Alias("clouddeck.MembershipView")]
public sealed record MembershipView(string Slug, string Name, string Role, string? RequiredSsoProvider = null);

[GenerateSerializer, Immutable, Alias("clouddeck.SignUpResult")]
public sealed record SignUpResult(AccountView Account, string PersonalOrganization);

/// <summary>An access token (JWT) and the refresh token that renews it; the refresh token is rotated on every use.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.TokenPair")]
public sealed record TokenPair(string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken,
    DateTimeOffset RefreshTokenExpiresAt, string TokenType = "Bearer")
{
    public override string ToString() => $"TokenPair {{ AccessTokenExpiresAt = {AccessTokenExpiresAt:O}, RefreshTokenExpiresAt = {RefreshTokenExpiresAt:O} }}";
}

[GenerateSerializer, Alias("clouddeck.LoginStatus")]
public enum LoginStatus
{
    Succeeded,
    MfaRequired,
    InvalidCredentials,
    Throttled,

    /// <summary>The credentials were right, but an organization the account belongs to requires its SSO provider.</summary>
    SsoRequired,
}

/// <summary>
/// The answer to a login step. <see cref="MfaChallenge"/> is set when the password was right and a second
/// factor is needed; <see cref="RetryAfterSeconds"/> when too many attempts failed.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.LoginResult")]
public sealed record LoginResult(LoginStatus Status, TokenPair? Tokens = null, string? MfaChallenge = null, int RetryAfterSeconds = 0,
    string? SsoProvider = null, string? SsoOrganization = null)
{
    public static LoginResult Invalid { get; } = new(LoginStatus.InvalidCredentials);

    public override string ToString() => $"LoginResult {{ Status = {Status}, RetryAfterSeconds = {RetryAfterSeconds} }}";

    public static LoginResult Throttle(TimeSpan wait) =>
        new(LoginStatus.Throttled, RetryAfterSeconds: Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)));

    public static LoginResult RequireSso(string provider, string organization) =>
        new(LoginStatus.SsoRequired, SsoProvider: provider, SsoOrganization: organization);
}

[GenerateSerializer, Immutable, Alias("clouddeck.SessionView")]
public sealed record SessionView(string Id, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string ClientAddress);

[GenerateSerializer, Immutable, Alias("clouddeck.MfaEnrollment")]
public sealed record MfaEnrollment(string OtpAuthUri)
{
    public override string ToString() => "MfaEnrollment { OtpAuthUri = *** }";
}

[GenerateSerializer, Immutable, Alias("clouddeck.RecoveryCodes")]
public sealed record RecoveryCodes(IReadOnlyList<string> Codes)
{
    public override string ToString() => $"RecoveryCodes {{ Count = {Codes.Count} }}";
}

[GenerateSerializer, Immutable, Alias("clouddeck.CreateApiToken")]
public sealed record CreateApiToken(string Name, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt);

[GenerateSerializer, Immutable, Alias("clouddeck.ApiTokenView")]
public sealed record ApiTokenView(string Id, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt);

/// <summary>Shown once: <see cref="Token"/> is never stored or shown again.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.CreatedApiToken")]
public sealed record CreatedApiToken(ApiTokenView Details, string Token)
{
    public override string ToString() => $"CreatedApiToken {{ Details = {Details}, Token = *** }}";
}

/// <summary>Who an API token acts for, when it is valid. The API refuses it (403) while <paramref name="EmailVerified"/> is false.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ApiTokenIdentity")]
public sealed record ApiTokenIdentity(string UserId, string Email, IReadOnlyList<string> Scopes, bool EmailVerified = false);
