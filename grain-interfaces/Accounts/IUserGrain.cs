
namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// One account, keyed by user id: password hash, email verification, refresh-token families, TOTP MFA,
/// API tokens, and the organizations the user belongs to. Methods that take a <see cref="Caller"/> answer
/// 404 to anyone but the account's owner.
/// </summary>
[Alias("clouddeck.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>Called once by the email index during sign-up.</summary>
    Task<AccountView> Register(string email, string name, string password);

    /// <summary>
    /// Called once by the email index when an identity provider vouched for an address no account had: the account has
    /// no password (sign-in goes through the provider, or a password reset sets one) and its email is verified.
    /// </summary>
    Task<AccountView> RegisterExternal(string email, string name);

    /// <summary>
    /// Signs in through a provider whose identity is linked to this account, or (<paramref name="link"/>) links it now,
    /// because the provider verified this account's email. Answers <see cref="LoginStatus.SsoRequired"/> when an
    /// organization of the account requires another provider, and an MFA challenge when the account has MFA.
    /// </summary>
    Task<LoginResult> SignInExternal(ExternalIdentity identity, bool link, string clientAddress);

    /// <summary>Whether an identity of <paramref name="provider"/> is linked to this account.</summary>
    [ReadOnly]
    Task<bool> HasLinkedProvider(string provider);

    [ReadOnly]
    Task<AccountView> Get(Caller caller);

    /// <summary>Called by the email index when someone signs up with this account's address: emails the owner so.</summary>
    Task NotifySignUpAttempt();

    Task<LoginResult> Login(string password, string clientAddress);

    Task<LoginResult> CompleteMfaLogin(string challengeId, string challengeSecret, string code, string clientAddress);

    /// <summary>Rotates the refresh token. A token that was already rotated away revokes its whole family.</summary>
    Task<TokenPair> Refresh(string familyId, string secret, string clientAddress);

    /// <summary>Revokes the refresh token's family. Unknown tokens are ignored, so logout is idempotent.</summary>
    Task Logout(string familyId, string secret);

    [ReadOnly]
    Task<IReadOnlyList<SessionView>> ListSessions(Caller caller);

    Task VerifyEmail(string tokenId, string secret);

    /// <summary>Marks the email verified when this account is the platform's operator by the first-account rule (and only then).</summary>
    Task ConfirmOperatorEmail();

    /// <summary>Writes a reset link to the outbox.</summary>
    Task StartPasswordReset();

    /// <summary>
    /// Sets the new password, revokes every session and API token, and marks the email verified (the link
    /// reached the mailbox). When it was not verified before, MFA is turned off too: whoever set it up had
    /// not proven the address.
    /// </summary>
    Task CompletePasswordReset(string tokenId, string secret, string newPassword);

    /// <summary>Revokes every session and API token. Wrong current passwords count as failed logins.</summary>
    Task ChangePassword(Caller caller, string currentPassword, string newPassword);

    Task<MfaEnrollment> EnrollMfa(Caller caller);

    Task<RecoveryCodes> ConfirmMfa(Caller caller, string code);

    /// <summary>Takes a current TOTP code or an unused recovery code. Wrong codes count as failed logins, so guessing is throttled.</summary>
    Task DisableMfa(Caller caller, string code);

    /// <summary>Needs a verified email.</summary>
    Task<CreatedApiToken> CreateApiToken(Caller caller, CreateApiToken request);

    [ReadOnly]
    Task<IReadOnlyList<ApiTokenView>> ListApiTokens(Caller caller);

    Task RevokeApiToken(Caller caller, string tokenId);

    /// <summary>Null unless the token exists, is unexpired and unrevoked, and the secret matches.</summary>
    Task<ApiTokenIdentity?> AuthenticateApiToken(string tokenId, string secret);

    /// <summary>
    /// Whether the login <paramref name="sessionId"/> (an access token's <c>sid</c>) is still signed in: not logged out, not
    /// revoked (a password change or reset, a reused refresh token) and not expired. What a long-lived follow re-checks.
    /// </summary>
    [ReadOnly]
    Task<bool> IsSessionActive(string sessionId);

    /// <summary>Whether the API token <paramref name="tokenId"/> still exists and is unexpired (the secret was checked when the caller connected).</summary>
    [ReadOnly]
    Task<bool> IsApiTokenActive(string tokenId);

    /// <summary>Kept in step by organization grains (which own the truth) so a user can list their organizations.</summary>
    Task SetMembership(MembershipView membership);

    /// <summary>
    /// Holds a place among the organizations this user may own (<c>CloudDeck:Accounts:MaxOrganizationsPerUser</c>) for
    /// <paramref name="slug"/> while it is created, until <see cref="SetMembership"/> records it or
    /// <see cref="ReleaseOrganization"/> gives it back. <see cref="ForbiddenException"/> when every place is taken.
    /// </summary>
    Task ReserveOrganization(string slug);

    Task ReleaseOrganization(string slug);

    Task RemoveMembership(string slug);
}

public static class UserIds
{
    /// <summary>
    /// Whether <paramref name="value"/> has the shape the email index gives user ids: "u" and 16 lower-case hex
    /// digits. The API checks it before a user id from a request reaches GetGrain, so anonymous requests with
    /// made-up owners cannot create activations.
    /// </summary>
    public static bool IsWellFormed(string? value) =>
        value is { Length: 17 } && value[0] == 'u' && value.AsSpan(1).IndexOfAnyExcept("0123456789abcdef") < 0;
}
