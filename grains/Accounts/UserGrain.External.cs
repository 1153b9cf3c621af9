using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Grains.Accounts;

// Sign-in through operator-configured identity providers (OpenID Connect, GitHub-style OAuth2). The API checked the
// provider's answer; the external identity grain decided which account it is; this part links it and starts the session.
public sealed partial class UserGrain
{
    public async Task<AccountView> RegisterExternal(string email, string name)
    {
        if (User.Registered) throw new ConflictException("This account already exists.");
        User.Registered = true;
        User.Email = EmailAddresses.Normalize(email);
        User.Name = DisplayNames.Check(name);
        User.PasswordHash = "";
        // The provider verified the address; nothing for us to send.
        User.EmailVerified = true;
        User.CreatedAt = Now;
        await state.WriteStateAsync();
        return View();
    }

    public async Task<LoginResult> SignInExternal(ExternalIdentity identity, bool link, string clientAddress)
    {
        if (!User.Registered) return LoginResult.Invalid;
        if (link)
        {
            if (!identity.EmailVerified) throw new ForbiddenException("An identity is linked to an account only by an email its provider verified.");
            if (!User.EmailVerified)
            {
                // Until now nobody had proven the mailbox: the password, sessions, tokens and MFA on this account may be a
                // squatter's. The provider's verification is the owner's proof (as a reset link is), so they all go.
                RevokeAllCredentials();
                TurnOffMfa();
                User.PasswordHash = "";
                User.EmailVerified = true;
                User.EmailVerification = null;
            }

            User.ExternalIdentities[identity.Provider] = identity.Subject;
            await state.WriteStateAsync();
        }
        else if (!User.ExternalIdentities.TryGetValue(identity.Provider, out var subject) || subject != identity.Subject)
        {
            return LoginResult.Invalid;
        }

        if (RequiredSsoMembership(exceptProvider: identity.Provider) is { } sso) return LoginResult.RequireSso(sso.RequiredSsoProvider!, sso.Slug);
        if (User.MfaEnabled)
        {
            // The provider vouches for the person; this account's own second factor still applies.
            var challenge = NewOneTimeSecret(SecretToken.MfaChallenge, Settings.MfaChallengeLifetime, out var stored);
            User.MfaChallenge = stored;
            User.MfaChallengeProvider = identity.Provider;
            await state.WriteStateAsync();
            return new LoginResult(LoginStatus.MfaRequired, MfaChallenge: challenge);
        }

        return new LoginResult(LoginStatus.Succeeded, await StartSessionAsync(clientAddress, identity.Provider));
    }

    public Task<bool> HasLinkedProvider(string provider) => Task.FromResult(User.Registered && User.ExternalIdentities.ContainsKey(provider));

    /// <summary>The first organization (by slug) that requires a provider other than <paramref name="exceptProvider"/>.</summary>
    private MembershipView? RequiredSsoMembership(string? exceptProvider) =>
        User.Memberships.Values
            .Where(m => m.RequiredSsoProvider is not null && m.RequiredSsoProvider != exceptProvider)
            .OrderBy(m => m.Slug, StringComparer.Ordinal)
            .FirstOrDefault();
}
