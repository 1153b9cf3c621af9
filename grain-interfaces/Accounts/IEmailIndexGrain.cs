
namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// Keyed by normalized email (trimmed, lower case). The one place that decides who owns an email, so two
/// sign-ups with the same address are serialized here and exactly one wins.
/// </summary>
[Alias("clouddeck.IEmailIndexGrain")]
public interface IEmailIndexGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the user, their personal organization, and queues the verification email. When the address already
    /// has an account, creates nothing, emails its owner that someone tried to sign up with it, and answers null: the
    /// API answers both alike, so sign-up does not tell who is registered. Rate limited per client address and per
    /// email (<see cref="RateLimitedException"/>).
    /// </summary>
    Task<SignUpResult?> SignUp(SignUpRequest request);

    /// <summary>
    /// Throttled per (email, client address) pair with a growing wait, and per client address across emails; unknown
    /// emails fail, and are throttled, like wrong passwords.
    /// </summary>
    Task<LoginResult> Login(string password, string clientAddress);

    /// <summary>
    /// Queues a reset email when the address belongs to an account; does nothing (and says nothing) otherwise. Rate
    /// limited per client address and per email (<see cref="RateLimitedException"/>), registered or not.
    /// </summary>
    Task RequestPasswordReset(string clientAddress);

    [ReadOnly]
    Task<string?> FindUserId();

    /// <summary>
    /// The account of this address for a provider's identity whose email the provider verified: the existing one, or a
    /// new one (with its personal organization) when the address had none. <c>Created</c> tells which.
    /// </summary>
    Task<ExternalAccount> ClaimForExternalIdentity(ExternalIdentity identity, string clientAddress);
}

public static class EmailAddresses
{
    /// <summary>The email index key: trimmed, lower case.</summary>
    public static string Normalize(string email) => email.Trim().ToLowerInvariant();
}

/// <summary>
/// Keyed by a client address's throttle key (an IPv4 address, or an IPv6 address's /64): failed logins from it across
/// every email, held in memory only.
/// </summary>
[Alias("clouddeck.ILoginThrottleGrain")]
public interface ILoginThrottleGrain : IGrainWithStringKey
{
    /// <summary>Zero when a login may be tried now; otherwise seconds to wait.</summary>
    [ReadOnly]
    Task<int> RetryAfterSeconds();

    Task RecordFailure();
}
