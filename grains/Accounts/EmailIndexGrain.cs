using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Accounts;

/// <summary>Owns one email address: which user (if any) it belongs to. Sign-up and login start here.</summary>
public sealed class EmailIndexGrain(
    [PersistentState("email")] IPersistentState<EmailIndexGrain.EmailState> state,
    Passwords passwords,
    IOptions<AuthOptions> options,
    TimeProvider clock) : Grain, IEmailIndexGrain
{
    private const int SlugAttempts = 8;
    private const string PersonalSuffix = "'s projects";

    // Failed logins for an address nobody registered, in memory like the user grain's: the sixth wrong
    // password must answer 429 here as it would for an account, or the difference tells who is registered.
    private FailureWindow? _unregisteredFailures;

    private string Email => this.GetPrimaryKeyString();

    private FailureWindow UnregisteredFailures =>
        _unregisteredFailures ??= new FailureWindow(options.Value.AccountFailureLimit, options.Value.FailureWindow);

    public async Task<SignUpResult> SignUp(SignUpRequest request)
    {
        if (state.State.UserId is not null) throw new ConflictException("email: an account with this email already exists");
        // Checked here, before anything is written, so a refused name or password leaves no half-made
        // account, queued email or taken slug behind.
        var name = DisplayNames.Check(request.Name);
        passwords.EnsureAcceptable(request.Password, Email);

        // Shaped as UserIds.IsWellFormed expects: the API refuses any other owner before it reaches a grain.
        var userId = "u" + Secrets.NewId();
        var user = GrainFactory.GetGrain<IUserGrain>(userId);
        await user.Register(Email, name, request.Password);

        var caller = new Caller(userId, Email, request.ClientAddress);
        var slug = await CreatePersonalOrganizationAsync(caller, PersonalOrganizationName(name));

        // Last: until this write the email is free again, and the unreachable user grain is harmless.
        state.State.UserId = userId;
        await state.WriteStateAsync();
        // After the account exists: a fresh embedded install's first account becomes its operator. The account is made
        // either way; an install whose offer failed names its operators with CloudDeck:Operators:Emails instead.
        try
        {
            await GrainFactory.GetGrain<IPlatformOperatorsGrain>(IPlatformOperatorsGrain.Key).OfferFirstAccount(userId);
        }
        catch (OrleansException)
        {
        }
        catch (TimeoutException)
        {
        }
        return new SignUpResult(await user.Get(caller), slug);
    }

    public async Task<LoginResult> Login(string password, string clientAddress)
    {
        var address = GrainFactory.GetGrain<ILoginThrottleGrain>(clientAddress);
        var wait = await address.RetryAfterSeconds();
        if (wait > 0) return LoginResult.Throttle(TimeSpan.FromSeconds(wait));

        LoginResult result;
        if (state.State.UserId is { } userId)
        {
            result = await GrainFactory.GetGrain<IUserGrain>(userId).Login(password, clientAddress);
        }
        else if (UnregisteredFailures.RetryAfter(clock.GetUtcNow()) is var throttled && throttled > TimeSpan.Zero)
        {
            result = LoginResult.Throttle(throttled);
        }
        else
        {
            passwords.VerifyNothing(password);
            UnregisteredFailures.Record(clock.GetUtcNow());
            result = LoginResult.Invalid;
        }

        if (result.Status == LoginStatus.InvalidCredentials) await address.RecordFailure();
        return result;
    }

    public async Task RequestPasswordReset(string clientAddress)
    {
        if (state.State.UserId is { } userId) await GrainFactory.GetGrain<IUserGrain>(userId).StartPasswordReset();
    }

    public Task<string?> FindUserId() => Task.FromResult(state.State.UserId);

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

    public sealed class EmailState
    {
        public string? UserId { get; set; }
    }
}
