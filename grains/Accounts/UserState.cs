using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// What a user grain persists. Secrets appear only as SHA-256 hashes, except the TOTP key, which must be read to verify
/// codes: it is kept encrypted with the secrets key (<see cref="Projects.SecretsKey"/>).
/// </summary>
public sealed class UserState
{
    public bool Registered { get; set; }

    public string Email { get; set; } = "";

    public string Name { get; set; } = "";

    public string PasswordHash { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public bool EmailVerified { get; set; }

    /// <summary>Identity providers' subjects linked to this account, by provider name.</summary>
    public Dictionary<string, string> ExternalIdentities { get; set; } = [];

    public OneTimeSecret? EmailVerification { get; set; }

    public OneTimeSecret? PasswordReset { get; set; }

    public OneTimeSecret? MfaChallenge { get; set; }

    /// <summary>The identity provider that vouched for the sign-in <see cref="MfaChallenge"/> completes; null after a password.</summary>
    public string? MfaChallengeProvider { get; set; }

    /// <summary>
    /// The TOTP key in clear (base32), as accounts stored it before keys were encrypted. Read only to migrate it: the grain
    /// seals it into <see cref="SealedTotpSecret"/> when it activates and clears this.
    /// </summary>
    public string? TotpSecret { get; set; }

    /// <summary>AES-GCM ciphertext of the base32 TOTP key, bound to this user; set from enrollment, enabled once a code from it was confirmed.</summary>
    public string? SealedTotpSecret { get; set; }

    public bool MfaEnabled { get; set; }

    /// <summary>The last time step whose code was accepted: codes are single-use.</summary>
    public long LastTotpStep { get; set; }

    public List<string> RecoveryCodeHashes { get; set; } = [];

    public Dictionary<string, RefreshFamily> RefreshFamilies { get; set; } = [];

    public Dictionary<string, ApiTokenRecord> ApiTokens { get; set; } = [];

    public Dictionary<string, MembershipView> Memberships { get; set; } = [];
}

public sealed class OneTimeSecret
{
    public string Id { get; set; } = "";

    public string Hash { get; set; } = "";

    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>
/// One login's chain of refresh tokens. Only the newest is valid; the hashes of rotated-away ones are kept so
/// that presenting one again (a stolen copy, or the thief racing the user) is recognized and revokes the family.
/// </summary>
public sealed class RefreshFamily
{
    public const int RememberedRotations = 200;

    public string Id { get; set; } = "";

    public string CurrentHash { get; set; } = "";

    public List<string> UsedHashes { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public string ClientAddress { get; set; } = "";

    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The identity provider the login went through; null for a password (with or without a second factor).</summary>
    public string? SignedInWith { get; set; }
}

public sealed class ApiTokenRecord
{
    public string Id { get; set; } = "";

    public string Name { get; set; } = "";

    public List<string> Scopes { get; set; } = [];

    public string Hash { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }
}
