
namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// Keyed by normalized email (trimmed, lower case). The one place that decides who owns an email, so two
/// sign-ups with the same address are serialized here and exactly one wins.
/// </summary>
[Alias("clouddeck.IEmailIndexGrain")]
public interface IEmailIndexGrain : IGrainWithStringKey
{
    /// <summary>Creates the user, their personal organization, and queues the verification email.</summary>
    Task<SignUpResult> SignUp(SignUpRequest request);

    /// <summary>Throttled per client address and per account; unknown emails fail like wrong passwords.</summary>
    Task<LoginResult> Login(string password, string clientAddress);

    /// <summary>Queues a reset email when the address belongs to an account; does nothing (and says nothing) otherwise.</summary>
    Task RequestPasswordReset(string clientAddress);

    [ReadOnly]
    Task<string?> FindUserId();
}

public static class EmailAddresses
{
    /// <summary>The email index key: trimmed, lower case.</summary>
    public static string Normalize(string email) => email.Trim().ToLowerInvariant();
}

/// <summary>Keyed by client address: failed logins from one address, held in memory only.</summary>
[Alias("clouddeck.ILoginThrottleGrain")]
public interface ILoginThrottleGrain : IGrainWithStringKey
{
    /// <summary>Zero when a login may be tried now; otherwise seconds to wait.</summary>
    [ReadOnly]
    Task<int> RetryAfterSeconds();

    Task RecordFailure();
}
