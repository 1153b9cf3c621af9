using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Grains.Accounts;

// Sessions: a login starts a refresh-token family that expires RefreshTokenLifetime after the login, however
// often it is refreshed; each refresh rotates its token; a rotated-away token presented again revokes the family.
public sealed partial class UserGrain
{
    public async Task<TokenPair> Refresh(string familyId, string secret, string clientAddress)
    {
        if (!User.RefreshFamilies.TryGetValue(familyId, out var family))
        {
            throw new UnauthenticatedException("The refresh token is invalid.");
        }

        if (family.RevokedAt is null && Secrets.Matches(family.CurrentHash, secret) && family.ExpiresAt > Now)
        {
            if (RequiredSsoMembership(exceptProvider: family.SignedInWith) is { } sso)
            {
                // Normally revoked when the requirement arrived (SetMembership); this holds for a session that slipped past.
                family.RevokedAt = Now;
                await state.WriteStateAsync();
                throw new UnauthenticatedException(
                    $"The organization '{sso.Slug}' requires signing in with '{sso.RequiredSsoProvider}'; this session did not, and has ended.");
            }

            var next = Secrets.NewSecret();
            family.UsedHashes.Add(family.CurrentHash);
            if (family.UsedHashes.Count > RefreshFamily.RememberedRotations) family.UsedHashes.RemoveAt(0);
            family.CurrentHash = Secrets.Hash(next);
            // ExpiresAt stays where login set it: rotation must not extend a stolen family forever.
            family.ClientAddress = clientAddress;
            await state.WriteStateAsync();
            return Tokens(family, next);
        }

        if (family.RevokedAt is null && family.UsedHashes.Any(used => Secrets.Matches(used, secret)))
        {
            // Two parties hold this family's tokens; we cannot tell which is the user, so both are signed out.
            family.RevokedAt = Now;
            await state.WriteStateAsync();
            throw new UnauthenticatedException("The refresh token was already used; every session of its login has been revoked.");
        }

        throw new UnauthenticatedException("The refresh token is invalid, expired or revoked.");
    }

    public async Task Logout(string familyId, string secret)
    {
        if (User.RefreshFamilies.TryGetValue(familyId, out var family) && family.RevokedAt is null
            && (Secrets.Matches(family.CurrentHash, secret) || family.UsedHashes.Any(used => Secrets.Matches(used, secret))))
        {
            family.RevokedAt = Now;
            await state.WriteStateAsync();
        }
    }

    public Task<bool> IsSessionActive(string sessionId) =>
        Task.FromResult(User.Registered && User.RefreshFamilies.TryGetValue(sessionId, out var family) && family.RevokedAt is null && family.ExpiresAt > Now);

    public Task<IReadOnlyList<SessionView>> ListSessions(Caller caller)
    {
        RequireSelf(caller, ApiTokenScopes.Read);
        IReadOnlyList<SessionView> sessions = [.. User.RefreshFamilies.Values
            .Where(f => f.RevokedAt is null && f.ExpiresAt > Now)
            .OrderByDescending(f => f.CreatedAt)
            .Select(f => new SessionView(f.Id, f.CreatedAt, f.ExpiresAt, f.ClientAddress))];
        return Task.FromResult(sessions);
    }

    /// <summary>Writes state before answering.</summary>
    /// <param name="signedInWith">The identity provider the login went through; null for a password.</param>
    private async Task<TokenPair> StartSessionAsync(string clientAddress, string? signedInWith = null)
    {
        PruneSessions();
        var secret = Secrets.NewSecret();
        var family = new RefreshFamily
        {
            Id = Secrets.NewId(),
            CurrentHash = Secrets.Hash(secret),
            CreatedAt = Now,
            ExpiresAt = Now + Settings.RefreshTokenLifetime,
            ClientAddress = clientAddress,
            SignedInWith = signedInWith,
        };
        User.RefreshFamilies[family.Id] = family;
        await state.WriteStateAsync();
        return Tokens(family, secret);
    }

    private TokenPair Tokens(RefreshFamily family, string refreshSecret)
    {
        var (access, accessExpires) = accessTokens.Issue(UserId, User.Email, User.EmailVerified, family.Id);
        var refresh = new SecretToken(SecretToken.RefreshToken, UserId, family.Id, refreshSecret).ToString();
        return new TokenPair(access, accessExpires, refresh, family.ExpiresAt);
    }

    private void RevokeAllSessions()
    {
        foreach (var family in User.RefreshFamilies.Values) family.RevokedAt ??= Now;
    }

    /// <summary>
    /// Revokes each live session that an organization of this account would not let sign in now: one that requires a
    /// provider the session's login did not go through. The caller writes state.
    /// </summary>
    private void RevokeSessionsSsoRefuses()
    {
        foreach (var family in User.RefreshFamilies.Values.Where(f => f.RevokedAt is null))
        {
            if (RequiredSsoMembership(exceptProvider: family.SignedInWith) is not null) family.RevokedAt = Now;
        }
    }

    /// <summary>Revoked families are kept until they would have expired, so their reuse is still recognized.</summary>
    private void PruneSessions()
    {
        foreach (var expired in User.RefreshFamilies.Values.Where(f => f.ExpiresAt <= Now).Select(f => f.Id).ToList())
        {
            User.RefreshFamilies.Remove(expired);
        }
    }
}
