using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Limits;
using CloudDeck.Grains.Mail;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// Owns one email address: which user (if any) it belongs to. Sign-up, login and password reset start here, and
/// answer alike whether or not the address has an account.
/// </summary>
public sealed class EmailIndexGrain(
    [PersistentState("email")] IPersistentState<EmailIndexGrain.EmailState> state,
    Passwords passwords,
    IOptions<AuthOptions> options,
    IOptions<AccountLimitOptions> limits,
    TimeProvider clock,
    EmailOptions? email = null) : Grain, IEmailIndexGrain
{
    private const int SlugAttempts = 8;
    private const string PersonalSuffix = "'s projects";

    /// <summary>
    /// Client addresses whose failures this email keeps at once. Past it, the pairs nearest to being forgotten go
    /// first: only an attacker with that many addresses gets a fresh start for one of them.
    /// </summary>
    private const int MaxTrackedAddresses = 10_000;

    // Wrong passwords per client address (an IPv6 client's /64), in memory: every failed guess stays off the storage
    // path, and an activation lost with its silo costs an attacker's victim nothing but a fresh count. Kept here, for
    // addresses with and without an account alike, so the throttle does not tell who is registered.
    private readonly Dictionary<string, LoginBackoff> _failures = new(StringComparer.Ordinal);
    private DateTimeOffset _keepFailuresUntil;

    private string Email => this.GetPrimaryKeyString();

    private AuthOptions Settings => options.Value;

    public async Task<SignUpResult?> SignUp(SignUpRequest request)
    {
        // Checked here, before anything is written, so a refused name or password leaves no half-made account, queued
        // email or taken slug behind; and checked for a registered address too, so a 400 does not tell it apart.
        var name = DisplayNames.Check(request.Name);
        passwords.EnsureAcceptable(request.Password, Email);
        var rates = limits.Value;
        await GrainFactory.EnforceAsync("signup-address", ClientAddresses.ThrottleKey(request.ClientAddress), rates.SignUpsPerAddress, rates.RateWindow,
            "Too many sign-ups from this address");
        await GrainFactory.EnforceAsync("signup-email", Email, rates.SignUpsPerEmail, rates.RateWindow, "Too many sign-ups for this email address");

        if (state.State.UserId is { } existing)
        {
            // The hash a new account's password costs, so the answer does not come sooner for a registered address.
            _ = passwords.Hash(request.Password);
            await GrainFactory.GetGrain<IUserGrain>(existing).NotifySignUpAttempt();
            return null;
        }

        // Shaped as UserIds.IsWellFormed expects: the API refuses any other owner before it reaches a grain.
        var userId = "u" + Secrets.NewId();
        var user = GrainFactory.GetGrain<IUserGrain>(userId);
        await user.Register(Email, name, request.Password);

        var caller = new Caller(userId, Email, request.ClientAddress);
        var slug = await CreatePersonalOrganizationAsync(caller, PersonalOrganizationName(name));

        // Last: until this write the email is free again, and the unreachable user grain is harmless.
        state.State.UserId = userId;
        await state.WriteStateAsync();
        await OfferFirstAccountAsync(userId);
        return new SignUpResult(await user.Get(caller), slug);
    }

    /// <summary>
    /// After the account exists: a fresh embedded install's first account becomes its operator. The account is made
    /// either way; an install whose offer failed names its operators with CloudDeck:Operators:Emails instead.
    /// </summary>
    private async Task OfferFirstAccountAsync(string userId)
    {
        try
        {
            var isOperator = await GrainFactory.GetGrain<IPlatformOperatorsGrain>(IPlatformOperatorsGrain.Key).OfferFirstAccount(userId);
            // With no SMTP server the operator's own verification link could only be read from the mail folder; whoever
            // installed it is who it names, so its address counts as verified (later accounts still prove theirs).
            if (isOperator && email is { UsesSmtp: false }) await GrainFactory.GetGrain<IUserGrain>(userId).ConfirmOperatorEmail();
        }
        catch (OrleansException)
        {
        }
        catch (TimeoutException)
        {
        }
    }

    public async Task<LoginResult> Login(string password, string clientAddress)
    {
        var addressKey = ClientAddresses.ThrottleKey(clientAddress);
        var address = GrainFactory.GetGrain<ILoginThrottleGrain>(addressKey);
        var pairWait = _failures.TryGetValue(addressKey, out var pair) ? pair.RetryAfter(clock.GetUtcNow()) : TimeSpan.Zero;
        var addressWait = TimeSpan.FromSeconds(await address.RetryAfterSeconds());
        var wait = pairWait > addressWait ? pairWait : addressWait;
        if (wait > TimeSpan.Zero) return LoginResult.Throttle(wait);

        LoginResult result;
        if (state.State.UserId is { } userId)
        {
            result = await GrainFactory.GetGrain<IUserGrain>(userId).Login(password, clientAddress);
        }
        else
        {
            passwords.VerifyNothing(password);
            result = LoginResult.Invalid;
        }

        if (result.Status == LoginStatus.InvalidCredentials)
        {
            RecordFailure(addressKey);
            await address.RecordFailure();
        }
        else if (result.Status is LoginStatus.Succeeded or LoginStatus.MfaRequired)
        {
            // The right password from this address: its guesses are over. (An MFA code is counted by the account.)
            _failures.Remove(addressKey);
        }

        return result;
    }

    public async Task RequestPasswordReset(string clientAddress)
    {
        var rates = limits.Value;
        await GrainFactory.EnforceAsync("password-reset-address", ClientAddresses.ThrottleKey(clientAddress), rates.PasswordResetsPerAddress,
            rates.RateWindow, "Too many password reset requests from this address");
        await GrainFactory.EnforceAsync("password-reset-email", Email, rates.PasswordResetsPerEmail, rates.RateWindow,
            "Too many password reset requests for this email address");
        if (state.State.UserId is { } userId) await GrainFactory.GetGrain<IUserGrain>(userId).StartPasswordReset();
    }

    public Task<string?> FindUserId() => Task.FromResult(state.State.UserId);

    public async Task<ExternalAccount> ClaimForExternalIdentity(ExternalIdentity identity, string clientAddress)
    {
        // The external identity grain checked this too; the index is where an account is handed over, so it checks again.
        if (!identity.EmailVerified || !string.Equals(EmailAddresses.Normalize(identity.Email ?? ""), Email, StringComparison.Ordinal))
        {
            throw new ForbiddenException("An account is linked or created only for an email address its provider verified.");
        }

        if (state.State.UserId is { } existing) return new ExternalAccount(existing, Created: false);

        var name = string.IsNullOrWhiteSpace(identity.Name) ? Email.Split('@')[0] : identity.Name.Trim();
        name = DisplayNames.Truncate(name, DisplayNames.MaxLength);
        var userId = "u" + Secrets.NewId();
        var user = GrainFactory.GetGrain<IUserGrain>(userId);
        await user.RegisterExternal(Email, name);
        await CreatePersonalOrganizationAsync(new Caller(userId, Email, clientAddress), PersonalOrganizationName(name));
        state.State.UserId = userId;
        await state.WriteStateAsync();
        await OfferFirstAccountAsync(userId);
        return new ExternalAccount(userId, Created: true);
    }

    /// <summary>"{name}'s projects", with the name shortened so that any accepted sign-up name gives a valid organization name.</summary>
    public static string PersonalOrganizationName(string name) =>
        DisplayNames.Truncate(name, DisplayNames.MaxLength - PersonalSuffix.Length) + PersonalSuffix;

    private async Task<string> CreatePersonalOrganizationAsync(Caller caller, string organizationName)
    {
        var local = new string([.. Email.Split('@')[0].ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(24)]);
        if (local.Length == 0) local = "personal";
        for (var attempt = 0; ; attempt++)
        {
            var slug = attempt == 0 ? local : $"{local}-{Secrets.NewId()[..6]}";
            if (slug.Length < 3) slug = $"{slug}-{Secrets.NewId()[..6]}";
            try
            {
                await GrainFactory.GetGrain<IOrganizationGrain>(slug).Create(caller, organizationName, personal: true);
                return slug;
            }
            catch (ConflictException) when (attempt < SlugAttempts)
            {
                // Taken: try with a random suffix.
            }
        }
    }

    private void RecordFailure(string addressKey)
    {
        var now = clock.GetUtcNow();
        if (!_failures.TryGetValue(addressKey, out var pair))
        {
            if (_failures.Count >= MaxTrackedAddresses) ForgetFailures(now);
            pair = _failures[addressKey] = new LoginBackoff();
        }

        pair.Record(now, Settings);
        // Orleans collects an idle activation sooner than a long wait ends, which would forget the failures with it.
        var forgottenAt = pair.ForgottenAt(Settings);
        if (forgottenAt <= _keepFailuresUntil) return;
        _keepFailuresUntil = forgottenAt;
        DelayDeactivation(forgottenAt - now);
    }

    private void ForgetFailures(DateTimeOffset now)
    {
        foreach (var key in _failures.Where(p => p.Value.ForgottenAt(Settings) <= now).Select(p => p.Key).ToList()) _failures.Remove(key);
        var excess = _failures.Count - MaxTrackedAddresses + 1;
        if (excess <= 0) return;
        foreach (var key in _failures.OrderBy(p => p.Value.ForgottenAt(Settings)).Take(excess).Select(p => p.Key).ToList()) _failures.Remove(key);
    }

    public sealed class EmailState
    {
        public string? UserId { get; set; }
    }
}
