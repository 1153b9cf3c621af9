using CloudDeck.Grains.Mail;
using Actors.Extensions.Hosting;
using System.Web;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.Grains;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Licenses;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Organizations;
using CloudDeck.Grains.Projects;
using CloudDeck.Grains.Servers;
using CloudDeck.Grains.Usage;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using CloudDeck.Diagnostics;

namespace CloudDeck.Grains.Tests;

/// <summary>
/// An in-process silo with every CloudDeck grain, a manual clock, and a temp data directory (for the generated
/// signing key, and the SQLite database when a test wants to look at what is stored).
/// </summary>
public sealed class AccountsSilo : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";

    private readonly TestSilo _cluster;

    private AccountsSilo(TestSilo cluster, ManualClock clock, string dataDirectory)
    {
        _cluster = cluster;
        Clock = clock;
        DataDirectory = dataDirectory;
    }

    public ManualClock Clock { get; }

    public string DataDirectory { get; }

    public IGrainFactory Grains => _cluster.GrainFactory;

    public IServiceProvider Services => _cluster.Services;

    /// <summary>Stops and starts the silo; <paramref name="graceful"/> false drops activations without writing (a crash).</summary>
    public Task RestartAsync(bool graceful) => _cluster.RestartAsync(graceful);

    /// <param name="configure">More for the silo (grains or services a test brings).</param>
    public static async Task<AccountsSilo> StartAsync(bool sqlite = false, IReadOnlyDictionary<string, string?>? settings = null, Action<ISiloBuilder>? configure = null)
    {
        var clock = new ManualClock();
        var dataDirectory = Directory.CreateTempSubdirectory("clouddeck-grains-").FullName;
        // Most tests exercise roles and builds, not plans: their organizations stay on Hobby, so lift Hobby's one-person
        // and one-build limits unless a test sets them (the quota tests do).
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudDeck:Plans:Hobby:TeamMembers"] = "-1",
            ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "-1",
            // Most tests sign up many users and create many organizations from one address; the abuse tests set these limits.
            ["CloudDeck:Accounts:SignUpsPerAddress"] = "0",
            ["CloudDeck:Accounts:SignUpsPerEmail"] = "0",
            ["CloudDeck:Accounts:PasswordResetsPerAddress"] = "0",
            ["CloudDeck:Accounts:PasswordResetsPerEmail"] = "0",
            ["CloudDeck:Accounts:OrganizationCreationsPerAddress"] = "0",
            ["CloudDeck:Accounts:OrganizationCreationsPerUser"] = "0",
            ["CloudDeck:Accounts:MaxOrganizationsPerUser"] = "0",
        }).AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var cluster = await TestSilo.StartAsync(silo =>
        {
            if (sqlite)
            {
                var path = Path.Combine(dataDirectory, "clouddeck.db");
                silo.AddSqliteGrainStorageAsDefault(o => o.DatabasePath = path);
            silo.UseSqliteReminders(o => o.DatabasePath = path);
            silo.AddLogStreams();
            silo.UseSqliteLogStore(path + ".streams");
            }
            else
            {
                // Reminders need a table (organization quota grains register one for period boundaries): SQLite in the temp directory.
                silo.AddMemoryGrainStorageAsDefault();
                silo.AddLogStreams();
                silo.UseMemoryLogStore();
                silo.UseSqliteReminders(o => o.DatabasePath = Path.Combine(dataDirectory, "reminders.db"));
            }

            silo.Services.AddManualClock(clock);
            // Fewer PBKDF2 rounds than production: these tests hash hundreds of passwords on two cores.
            silo.Services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1000);
            silo.Services.AddCloudDeckAccounts(configuration, dataDirectory);
            silo.Services.AddCloudDeckMail(configuration, dataDirectory);
            silo.Services.AddCloudDeckLicenses(configuration, dataDirectory, cluster: false);
            silo.Services.AddCloudDeckPlans(configuration);
            silo.Services.AddCloudDeckUsage(configuration);
            silo.Services.AddCloudDeckProjects(configuration, dataDirectory, cluster: false);
            silo.Services.AddCloudDeckServers(configuration, dataDirectory);
            // Grains report events (quota crossings, billing) to the notification rules grain, which needs these.
            silo.Services.AddCloudDeckNotifications(configuration);
            silo.Services.AddCloudDeckDiagnostics();
            configure?.Invoke(silo);
        });
        return new AccountsSilo(cluster, clock, dataDirectory);
    }

    /// <param name="verified">Also open the verification link, and answer a caller that says so (as a fresh access token would).</param>
    public async Task<(Caller Caller, string PersonalOrganization)> SignUpAsync(
        string email, string password = Password, string address = "10.0.0.1", bool verified = false, string? name = null)
    {
        var result = await Grains.GetGrain<IEmailIndexGrain>(email).SignUp(new SignUpRequest(email, password, name ?? email.Split('@')[0], address))
                     ?? throw new InvalidOperationException($"{email} already has an account.");
        var caller = new Caller(result.Account.UserId, email, address);
        return (verified ? await VerifyAsync(caller) : caller, result.PersonalOrganization);
    }

    /// <summary>Opens the newest verification link sent to the caller's address.</summary>
    public async Task<Caller> VerifyAsync(Caller caller)
    {
        var token = await TokenFromOutboxAsync(caller.Email, OutboxKinds.EmailVerification, SecretToken.EmailVerification);
        await Grains.GetGrain<IUserGrain>(token.Owner).VerifyEmail(token.Id, token.Secret);
        return caller with { EmailVerified = true };
    }

    public Task<LoginResult> LoginAsync(string email, string password = Password, string address = "10.0.0.1") =>
        Grains.GetGrain<IEmailIndexGrain>(email).Login(password, address);

    public IUserGrain User(Caller caller) => Grains.GetGrain<IUserGrain>(caller.UserId);

    public Task<IReadOnlyList<OutboxMessage>> OutboxAsync(string email) => Grains.GetGrain<IOutboxGrain>(email).List();

    /// <summary>The token in the newest outbox message of that kind.</summary>
    public async Task<SecretToken> TokenFromOutboxAsync(string email, string kind, string prefix)
    {
        var message = (await OutboxAsync(email)).Last(m => m.Kind == kind);
        var text = HttpUtility.ParseQueryString(new Uri(message.Link).Query)["token"];
        Assert.True(SecretToken.TryParse(text, prefix, out var token), $"No {prefix} token in {message.Link}");
        return token;
    }

    /// <summary>The current code of the authenticator whose otpauth:// URI was shown at enrollment.</summary>
    public string CodeFor(MfaEnrollment enrollment, TimeSpan offset = default) =>
        Totp.Compute(SecretOf(enrollment), Totp.TimeStep(Clock.GetUtcNow() + offset));

    public static byte[] SecretOf(MfaEnrollment enrollment) =>
        Totp.Base32Decode(HttpUtility.ParseQueryString(new Uri(enrollment.OtpAuthUri).Query)["secret"]!);

    /// <summary>Enroll and confirm MFA; returns the enrollment and its recovery codes.</summary>
    public async Task<(MfaEnrollment Enrollment, IReadOnlyList<string> RecoveryCodes)> EnableMfaAsync(Caller caller)
    {
        var enrollment = await User(caller).EnrollMfa(caller);
        var codes = await User(caller).ConfirmMfa(caller, CodeFor(enrollment));
        // The confirming code's time step is spent; later codes come from the next one.
        Clock.Advance(Totp.Step);
        return (enrollment, codes.Codes);
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
