using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Limits;
using CloudDeck.Grains.Projects;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// One account. Wrong passwords at login are counted by the email index, per client address; this grain counts, in
/// memory and per account whatever the address, what only someone with the password or a session can get wrong: MFA
/// codes and a signed-in password change's current password. Sessions, MFA and API tokens are in the other parts of
/// this class.
/// </summary>
public sealed partial class UserGrain(
    [PersistentState("user")] IPersistentState<UserState> state,
    Passwords passwords,
    AccessTokens accessTokens,
    SecretsKey secrets,
    IOptions<AuthOptions> options,
    IOptions<AccountLimitOptions> limits,
    TimeProvider clock) : Grain, IUserGrain
{
    /// <summary>How long a place held for an organization being created waits for its membership before it lapses.</summary>
    private static readonly TimeSpan ReservationLifetime = TimeSpan.FromMinutes(1);

    private readonly Dictionary<string, DateTimeOffset> _reservedOrganizations = new(StringComparer.Ordinal);
    private SlidingWindow? _failures;

    private UserState User => state.State;

    private string UserId => this.GetPrimaryKeyString();

    private AuthOptions Settings => options.Value;

    private DateTimeOffset Now => clock.GetUtcNow();

    private SlidingWindow Failures => _failures ??= new SlidingWindow(Settings.AccountFailureLimit, Settings.FailureWindow);

    public async Task<AccountView> Register(string email, string name, string password)
    {
        if (User.Registered) throw new ConflictException("This account already exists.");
        name = DisplayNames.Check(name);
        passwords.EnsureAcceptable(password, email);
        User.Registered = true;
        User.Email = EmailAddresses.Normalize(email);
        User.Name = name;
        User.PasswordHash = passwords.Hash(password);
        User.CreatedAt = Now;
        var token = NewOneTimeSecret(SecretToken.EmailVerification, Settings.EmailVerificationLifetime, out var secret);
        User.EmailVerification = secret;
        await state.WriteStateAsync();
        await SendAsync(OutboxKinds.EmailVerification, "Verify your CloudDeck email address",
            "Confirm that this address is yours by opening the link below.", "verify-email", token);
        return View();
    }

    public Task<AccountView> Get(Caller caller)
    {
        RequireSelf(caller, ApiTokenScopes.Read);
        return Task.FromResult(View());
    }

    public async Task NotifySignUpAttempt()
    {
        if (!User.Registered) return;
        var signIn = $"{Settings.LinkBaseUrl.TrimEnd('/')}/login";
        var message = new OutboxMessage(OutboxKinds.SignUpAttempt, User.Email, "Someone tried to sign up to CloudDeck with your address",
            "Someone (maybe you) tried to create a CloudDeck account with this email address, which already has one. Nothing was " +
            "changed and no account was created. If it was you, sign in below; if you forgot your password, ask for a reset there. " +
            $"If it was not you, you can ignore this email.\n\n{signIn}\n", signIn, Now);
        await GrainFactory.GetGrain<IOutboxGrain>(User.Email).Enqueue(message);
    }

    /// <summary>Counts nothing: the email index throttles wrong passwords per client address before they reach this grain.</summary>
    public async Task<LoginResult> Login(string password, string clientAddress)
    {
        if (!User.Registered)
        {
            passwords.VerifyNothing(password);
            return LoginResult.Invalid;
        }

        if (User.PasswordHash.Length == 0)
        {
            // An account made through an identity provider has no password until a reset sets one.
            passwords.VerifyNothing(password);
            return LoginResult.Invalid;
        }

        var (matches, rehashed) = passwords.Verify(User.PasswordHash, password);
        if (!matches) return LoginResult.Invalid;

        // Only after the password matched, so the refusal does not tell a guesser which organizations the account is in.
        if (RequiredSsoMembership(exceptProvider: null) is { } sso) return LoginResult.RequireSso(sso.RequiredSsoProvider!, sso.Slug);

        if (rehashed is not null) User.PasswordHash = rehashed;
        if (User.MfaEnabled)
        {
            // The account's failed codes are not forgiven yet: only a right second factor completes the login.
            // Otherwise the known password would reset the count between every few guessed codes.
            var challenge = NewOneTimeSecret(SecretToken.MfaChallenge, Settings.MfaChallengeLifetime, out var stored);
            User.MfaChallenge = stored;
            User.MfaChallengeProvider = null;
            await state.WriteStateAsync();
            return new LoginResult(LoginStatus.MfaRequired, MfaChallenge: challenge);
        }

        Failures.Reset();
        return new LoginResult(LoginStatus.Succeeded, await StartSessionAsync(clientAddress));
    }

    public async Task VerifyEmail(string tokenId, string secret)
    {
        var pending = User.EmailVerification;
        if (User.EmailVerified && pending is null) return;
        if (!User.Registered || !IsValid(pending, tokenId, secret)) throw new UnauthenticatedException("The verification link is invalid.");
        if (pending!.ExpiresAt <= Now) throw new GoneException("The verification link has expired; ask for a new one.");
        User.EmailVerified = true;
        User.EmailVerification = null;
        await state.WriteStateAsync();
    }

    public async Task ConfirmOperatorEmail()
    {
        if (!User.Registered || User.EmailVerified) return;
        var self = new Caller(UserId, User.Email, "");
        if (!await GrainFactory.GetGrain<IPlatformOperatorsGrain>(IPlatformOperatorsGrain.Key).IsOperator(self)) return;
        User.EmailVerified = true;
        User.EmailVerification = null;
        await state.WriteStateAsync();
    }

    public async Task StartPasswordReset()
    {
        if (!User.Registered) return;
        var token = NewOneTimeSecret(SecretToken.PasswordReset, Settings.PasswordResetLifetime, out var stored);
        User.PasswordReset = stored;
        await state.WriteStateAsync();
        await SendAsync(OutboxKinds.PasswordReset, "Reset your CloudDeck password",
            "Someone asked to reset the password of this account. If it was you, open the link below; otherwise ignore this email.",
            "reset-password", token);
    }

    public async Task CompletePasswordReset(string tokenId, string secret, string newPassword)
    {
        var pending = User.PasswordReset;
        if (!User.Registered || !IsValid(pending, tokenId, secret)) throw new UnauthenticatedException("The reset link is invalid.");
        if (pending!.ExpiresAt <= Now) throw new GoneException("The reset link has expired; ask for a new one.");
        passwords.EnsureAcceptable(newPassword, User.Email, "new_password");
        User.PasswordHash = passwords.Hash(newPassword);
        User.PasswordReset = null;
        // Whoever knew the old password may hold sessions, API tokens or a pending MFA step: end them all.
        RevokeAllCredentials();
        if (!User.EmailVerified)
        {
            // Until now nobody had proven the mailbox, so the MFA on this account may be a squatter's, set up
            // to keep the address's real owner out; the reset is that owner's proof, so the factor goes.
            TurnOffMfa();
        }

        // The reset link reached the mailbox, which is what verification proves.
        User.EmailVerified = true;
        User.EmailVerification = null;
        Failures.Reset();
        await state.WriteStateAsync();
    }

    public async Task ChangePassword(Caller caller, string currentPassword, string newPassword)
    {
        RequireSession(caller);
        ThrowIfThrottled();
        if (!passwords.Verify(User.PasswordHash, currentPassword).Matches)
        {
            Failures.Record(Now);
            throw new InvalidFieldException("current_password", "is not this account's password");
        }

        passwords.EnsureAcceptable(newPassword, User.Email, "new_password");
        User.PasswordHash = passwords.Hash(newPassword);
        // A changed password is often a reaction to a leak: what the old one let anyone create ends here.
        RevokeAllCredentials();
        await state.WriteStateAsync();
    }

    public async Task SetMembership(MembershipView membership)
    {
        _reservedOrganizations.Remove(membership.Slug);
        if (User.Memberships.TryGetValue(membership.Slug, out var known) && known == membership) return;
        User.Memberships[membership.Slug] = membership;
        // An organization that now requires its provider ends the sessions that did not come through it.
        RevokeSessionsSsoRefuses();
        await state.WriteStateAsync();
    }

    public async Task RemoveMembership(string slug)
    {
        if (User.Memberships.Remove(slug)) await state.WriteStateAsync();
    }

    public Task ReserveOrganization(string slug)
    {
        var maximum = limits.Value.MaxOrganizationsPerUser;
        foreach (var lapsed in _reservedOrganizations.Where(r => r.Value <= Now).Select(r => r.Key).ToList()) _reservedOrganizations.Remove(lapsed);
        var owned = User.Memberships.Values.Count(m => m.Role == OrganizationRoles.Owner)
                    + _reservedOrganizations.Keys.Count(s => !User.Memberships.ContainsKey(s) && s != slug);
        if (maximum > 0 && owned >= maximum)
        {
            throw new ForbiddenException($"You own {owned} organizations, the most one account may own here ({maximum}); " +
                                         "leave one or hand its ownership to someone else before creating another.");
        }

        // In memory: the creation it holds a place for takes moments, and a lost activation only frees the place early.
        _reservedOrganizations[slug] = Now + ReservationLifetime;
        return Task.CompletedTask;
    }

    public Task ReleaseOrganization(string slug)
    {
        _reservedOrganizations.Remove(slug);
        return Task.CompletedTask;
    }

    private AccountView View() => new(UserId, User.Email, User.Name, User.EmailVerified, User.MfaEnabled, User.CreatedAt,
        [.. User.Memberships.Values.OrderBy(m => m.Slug, StringComparer.Ordinal)]);

    /// <summary>Another user's account is "not found", never "forbidden", so ids do not leak.</summary>
    private void RequireSelf(Caller caller, string scope)
    {
        if (!User.Registered || !string.Equals(caller.UserId, UserId, StringComparison.Ordinal))
        {
            throw new NotFoundException("Account not found.");
        }

        if (!caller.HasScope(scope)) throw new ForbiddenException($"This API token lacks the '{scope}' scope.");
    }

    /// <summary>Passwords and MFA change only from a signed-in session: a leaked CI token must not take over the account.</summary>
    private void RequireSession(Caller caller)
    {
        RequireSelf(caller, ApiTokenScopes.Admin);
        if (!caller.IsSession) throw new ForbiddenException("Passwords and MFA can only be changed from a signed-in session, not with an API token.");
    }

    /// <summary>The caller writes state.</summary>
    private void RevokeAllCredentials()
    {
        RevokeAllSessions();
        User.ApiTokens.Clear();
        User.MfaChallenge = null;
        User.MfaChallengeProvider = null;
    }

    /// <summary>Signed-in checks of a password or code share the login's failure window, so a stolen session cannot guess unthrottled.</summary>
    /// <exception cref="TooManyAttemptsException">The account is throttled.</exception>
    private void ThrowIfThrottled()
    {
        var wait = Failures.RetryAfter(Now);
        if (wait > TimeSpan.Zero) throw new TooManyAttemptsException(wait);
    }

    private string NewOneTimeSecret(string prefix, TimeSpan lifetime, out OneTimeSecret stored)
    {
        var token = new SecretToken(prefix, UserId, Secrets.NewId(), Secrets.NewSecret());
        stored = new OneTimeSecret { Id = token.Id, Hash = Secrets.Hash(token.Secret), ExpiresAt = Now + lifetime };
        return token.ToString();
    }

    private static bool IsValid(OneTimeSecret? stored, string id, string secret) =>
        stored is not null && string.Equals(stored.Id, id, StringComparison.Ordinal) && Secrets.Matches(stored.Hash, secret);

    private Task SendAsync(string kind, string subject, string text, string path, string token)
    {
        var link = $"{Settings.LinkBaseUrl.TrimEnd('/')}/{path}?token={Uri.EscapeDataString(token)}";
        var message = new OutboxMessage(kind, User.Email, subject, $"{text}\n\n{link}\n", link, Now);
        return GrainFactory.GetGrain<IOutboxGrain>(User.Email).Enqueue(message);
    }
}
