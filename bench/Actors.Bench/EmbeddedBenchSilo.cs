using Actors.Extensions.Hosting;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Mail;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Organizations;
using CloudDeck.Grains.Projects;
using CloudDeck.Testing;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Actors.Bench;

/// <summary>
/// One silo as embedded mode runs it (SQLite grain state, reminders and log streams in <c>directory</c>) with the
/// services an organization's owner needs: accounts (a cheap password hash: sign-ups are setup, not the figure),
/// mail (sign-ups and owners' notices queue emails; no SMTP, so the mail folder), plans, projects (whose secrets key
/// also seals TOTP keys) and notifications; <paramref name="more"/> adds a bench's own.
/// </summary>
internal static class EmbeddedBenchSilo
{
    public static Task<TestSilo> StartAsync(string directory, IConfiguration configuration, Action<ISiloBuilder>? more = null)
    {
        var path = Path.Combine(directory, "clouddeck.db");
        return TestSilo.StartAsync(s =>
        {
            s.AddSqliteGrainStorageAsDefault(o => o.DatabasePath = path);
            s.UseSqliteReminders(o => o.DatabasePath = path);
            s.AddLogStreams();
            s.UseSqliteLogStore(path + ".streams");
            s.Services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1000);
            s.Services.AddCloudDeckAccounts(configuration, directory);
            s.Services.AddCloudDeckMail(configuration, directory);
            s.Services.AddCloudDeckPlans(configuration);
            s.Services.AddCloudDeckProjects(configuration, directory, cluster: false);
            s.Services.AddCloudDeckNotifications(configuration);
            more?.Invoke(s);
        });
    }

    /// <summary>Signs up <paramref name="email"/>: the owner as a caller, and their personal organization.</summary>
    public static async Task<(Caller Owner, string Organization)> OwnerAsync(IGrainFactory grains, string email)
    {
        var signUp = await grains.GetGrain<IEmailIndexGrain>(email).SignUp(new SignUpRequest(email, "a long password 42", "Bench", "10.0.0.1"));
        return (new Caller(signUp!.Account.UserId, email, "10.0.0.1", EmailVerified: true), signUp.PersonalOrganization);
    }
}
