using Actors.Runtime;

namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// One account, keyed by user id: password hash, email verification, refresh-token families, TOTP MFA,
/// API tokens, and the organizations the user belongs to. Methods that take a <see cref="Caller"/> answer
/// 404 to anyone but the account's owner.
/// </summary>
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>Called once by the email index during sign-up.</summary>
    Task<AccountView> Register(string email, string name, string password);

    [ReadOnly]
    Task<AccountView> Get(Caller caller);

    Task<LoginResult> Login(string password, string clientAddress);

    Task<LoginResult> CompleteMfaLogin(string challengeId, string challengeSecret, string code, string clientAddress);

    /// <summary>Rotates the refresh token. A token that was already rotated away revokes its whole family.</summary>
    Task<TokenPair> Refresh(string familyId, string secret, string clientAddress);

    /// <summary>Revokes the refresh token's family. Unknown tokens are ignored, so logout is idempotent.</summary>
    Task Logout(string familyId, string secret);

    [ReadOnly]
    Task<IReadOnlyList<SessionView>> ListSessions(Caller caller);

    Task VerifyEmail(string tokenId, string secret);

    /// <summary>Writes a reset link to the outbox.</summary>
    Task StartPasswordReset();

    /// <summary>Sets the new password and revokes every session.</summary>
    Task CompletePasswordReset(string tokenId, string secret, string newPassword);

    Task ChangePassword(Caller caller, string currentPassword, string newPassword);

    Task<MfaEnrollment> EnrollMfa(Caller caller);

    Task<RecoveryCodes> ConfirmMfa(Caller caller, string code);

    /// <summary>Takes a current TOTP code or an unused recovery code.</summary>
    Task DisableMfa(Caller caller, string code);

    Task<CreatedApiToken> CreateApiToken(Caller caller, CreateApiToken request);

    [ReadOnly]
    Task<IReadOnlyList<ApiTokenView>> ListApiTokens(Caller caller);

    Task RevokeApiToken(Caller caller, string tokenId);

    /// <summary>Null unless the token exists, is unexpired and unrevoked, and the secret matches.</summary>
    Task<ApiTokenIdentity?> AuthenticateApiToken(string tokenId, string secret);

    /// <summary>Kept in step by organization grains (which own the truth) so a user can list their organizations.</summary>
    Task SetMembership(MembershipView membership);

    Task RemoveMembership(string slug);
}
