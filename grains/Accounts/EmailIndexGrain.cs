using Actors.Runtime;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Accounts;

/// <summary>Owns one email address: which user (if any) it belongs to. Sign-up and login start here.</summary>
public sealed class EmailIndexGrain(
    [PersistentState("email")] IPersistentState<EmailIndexGrain.EmailState> state,
    Passwords passwords) : Grain, IEmailIndexGrain
{
    private const int SlugAttempts = 8;

    private string Email => GetPrimaryKeyString();

    public async Task<SignUpResult> SignUp(SignUpRequest request)
    {
        if (state.State.UserId is not null) throw new ConflictException("email: an account with this email already exists");
        // Checked here too, before anything is written, so a refused password leaves no half-made account behind.
        passwords.EnsureAcceptable(request.Password, Email);

        var userId = "u" + Secrets.NewId();
        var user = GrainFactory.GetGrain<IUserGrain>(userId);
        await user.Register(Email, request.Name, request.Password);

        var caller = new Caller(userId, Email, request.ClientAddress);
        var slug = await CreatePersonalOrganizationAsync(caller, request.Name);

        // Last: until this write the email is free again, and the unreachable user grain is harmless.
        state.State.UserId = userId;
        await state.WriteStateAsync();
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
        else
        {
            passwords.VerifyNothing(password);
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

    private async Task<string> CreatePersonalOrganizationAsync(Caller caller, string name)
    {
        var local = new string([.. Email.Split('@')[0].ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(24)]);
        if (local.Length == 0) local = "personal";
        for (var attempt = 0; ; attempt++)
        {
            var slug = attempt == 0 ? local : $"{local}-{Secrets.NewId()[..6]}";
            if (slug.Length < 3) slug = $"{slug}-{Secrets.NewId()[..6]}";
            try
            {
                await GrainFactory.GetGrain<IOrganizationGrain>(slug).Create(caller, $"{name}'s projects", personal: true);
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
