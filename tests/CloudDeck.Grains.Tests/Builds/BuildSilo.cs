using CloudDeck.Grains.Mail;
using Actors.Extensions.Hosting;
using System.Security.Cryptography;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Builds;
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

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// A silo with every CloudDeck grain and the real build pipeline (BuildGrain, the queue, the local executor running real
/// processes) on SQLite, so a restart keeps state. Builds start the way users start them: a real project (local sources
/// allowed, for git tests) and a real deployment, whose status and manifest say how its build ended; uploaded files go
/// into the real <see cref="LocalArtifactStore"/>, as the files routes put them.
/// </summary>
public sealed class BuildSilo : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";

    private readonly TestSilo _cluster;

    private BuildSilo(TestSilo cluster, string directory, LocalArtifactStore store)
    {
        _cluster = cluster;
        Directory = directory;
        Store = store;
    }

    /// <summary>Everything of this silo on disk: database, artifacts, work and cache directories, test fixtures.</summary>
    public string Directory { get; }

    public string WorkDirectory => Path.Combine(Directory, "builds");

    public LocalArtifactStore Store { get; }

    public IGrainFactory Grains => _cluster.GrainFactory;

    public ILogStreamProvider Streams => _cluster.Services.GetRequiredService<ILogStreamProvider>();

    public Task RestartAsync(bool graceful) => _cluster.RestartAsync(graceful);

    /// <param name="services">Registers more services after CloudDeck's (a <see cref="GitHostResolver"/>, say).</param>
    public static async Task<BuildSilo> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("clouddeck-builds-").FullName;
        var store = new LocalArtifactStore(Path.Combine(directory, "artifacts"));
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
            // The git tests build from a repository on this disk (local_path).
            ["CloudDeck:Projects:AllowLocalSources"] = "true",
        }).AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var database = Path.Combine(directory, "clouddeck.db");
        var cluster = await TestSilo.StartAsync(silo =>
        {
            silo.AddSqliteGrainStorageAsDefault(o => o.DatabasePath = database);
            silo.UseSqliteReminders(o => o.DatabasePath = database);
            silo.AddLogStreams();
            silo.UseSqliteLogStore(database + ".streams");
            silo.Services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1000);
            silo.Services.AddSingleton<IArtifactStore>(store);
            silo.Services.AddCloudDeckAccounts(configuration, directory);
            silo.Services.AddCloudDeckMail(configuration, directory);
            silo.Services.AddCloudDeckLicenses(configuration, directory, cluster: false);
            silo.Services.AddCloudDeckPlans(configuration);
            silo.Services.AddCloudDeckUsage(configuration);
            silo.Services.AddCloudDeckBuilds(configuration, directory);
            silo.Services.AddCloudDeckDiagnostics();
            silo.Services.AddCloudDeckProjects(configuration, directory, cluster: false);
            silo.Services.AddCloudDeckServers(configuration, directory);
            // Deployments, builds and quotas report events to the notification rules grain, which needs these.
            silo.Services.AddCloudDeckNotifications(configuration);
            services?.Invoke(silo.Services);
        });
        return new BuildSilo(cluster, directory, store);
    }

    public async Task<(Caller Caller, string Organization)> SignUpAsync(string email)
    {
        var result = await Grains.GetGrain<IEmailIndexGrain>(email).SignUp(new SignUpRequest(email, Password, email.Split('@')[0], "10.0.0.1"))
                     ?? throw new InvalidOperationException($"{email} already has an account.");
        lock (_organizations) _organizations.Add(result.PersonalOrganization);
        return (new Caller(result.Account.UserId, email, "10.0.0.1"), result.PersonalOrganization);
    }

    public async Task<IProjectGrain> CreateProjectAsync(Caller caller, string organization, string name, ProjectSettings settings,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var project = Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(organization, name));
        await project.Create(caller, settings with { Name = name });
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            await project.SetEnv(caller, ProjectEnvironments.Preview, key, value);
        }

        return project;
    }

    private readonly List<string> _organizations = [];

    /// <summary>
    /// Stores the bytes in the artifact store and grants them to every organization signed up here (what an upload through
    /// each one's files routes does), and answers their manifest entry.
    /// </summary>
    public async Task<ManifestFile> UploadAsync(string path, byte[] bytes)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await Store.PutAsync(sha256, bytes.Length, new MemoryStream(bytes), TestContext.Current.CancellationToken);
        string[] organizations;
        lock (_organizations) organizations = [.. _organizations];
        foreach (var organization in organizations) await Store.GrantAsync(organization, [sha256], TestContext.Current.CancellationToken);
        return new ManifestFile(path, sha256, bytes.Length);
    }

    /// <summary>The emails queued for <paramref name="email"/> (notifications, invitations…), oldest first.</summary>
    public Task<IReadOnlyList<GrainInterfaces.Mail.OutboxMessage>> OutboxAsync(string email) => Grains.GetGrain<GrainInterfaces.Mail.IOutboxGrain>(email).List();

    /// <summary>The text of a stored file.</summary>
    public string ReadStored(string sha256) => File.ReadAllText(Store.PathOf(sha256));

    /// <summary>Creates a preview deployment of the project (which queues its build) and answers the build, the deployment id and the build as queued.</summary>
    public async Task<(IBuildGrain Build, string DeploymentId, BuildView View)> QueueAsync(Caller caller, string organization, string project,
        DeploymentSource source)
    {
        var deployment = await Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(organization, project))
            .Deploy(caller, source, DeploymentTargets.Preview);
        var build = Grains.GetGrain<IBuildGrain>(deployment.BuildId!);
        return (build, deployment.Id, await build.Get(caller));
    }

    /// <summary>Follows the build's log from its first line until the build completes it; answers every line.</summary>
    public async Task<IReadOnlyList<BuildLogLine>> LogUntilEndAsync(string buildId)
    {
        var collector = new LogCollector();
        await using (await Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, buildId).SubscribeAsync(collector, LogPosition.First))
        {
            await collector.Completed.Task.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
        }

        return collector.Lines;
    }

    /// <summary>The whole stored log, as the API's text endpoint reads it.</summary>
    public async Task<IReadOnlyList<BuildLogLine>> StoredLogAsync(string buildId)
    {
        var page = await Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, buildId).ReadAsync(LogPosition.First, 100_000);
        return [.. page.Items.Select(i => i.Item)];
    }

    /// <summary>Waits until the line appears in the log (the build is running the step that prints it).</summary>
    public async Task WaitForLineAsync(string buildId, string text)
    {
        var collector = new LogCollector(text);
        await using (await Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, buildId).SubscribeAsync(collector, LogPosition.First))
        {
            await collector.Seen.Task.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>How the deployment ended once its build reported (the report leaves the build's turn; a server is ready once healthy).</summary>
    public async Task<(string Status, DeploymentManifest? Manifest)> DeploymentResultAsync(Caller caller, string deploymentId)
    {
        var deployment = Grains.GetGrain<IDeploymentGrain>(deploymentId);
        for (var attempt = 0; attempt < 1200; attempt++)
        {
            var view = await deployment.Get(caller);
            if (view.Status != DeploymentStatuses.Building) return (view.Status, await deployment.GetManifest());
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Deployment {deploymentId} is still building.");
    }

    public async ValueTask DisposeAsync()
    {
        await _cluster.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class LogCollector(string? waitFor = null) : ILogObserver<BuildLogLine>
    {
        private readonly List<BuildLogLine> _lines = [];

        public IReadOnlyList<BuildLogLine> Lines
        {
            get
            {
                lock (_lines) return [.. _lines];
            }
        }

        public TaskCompletionSource Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task OnNextAsync(BuildLogLine item, LogPosition token)
        {
            lock (_lines) _lines.Add(item);
            if (waitFor is not null && item.Text.Contains(waitFor, StringComparison.Ordinal)) Seen.TrySetResult();
            return Task.CompletedTask;
        }

        public Task OnCompletedAsync()
        {
            Completed.TrySetResult();
            Seen.TrySetException(new InvalidOperationException($"The log ended without '{waitFor}': {string.Join(" | ", Lines.Select(l => l.Text))}"));
            return Task.CompletedTask;
        }

        public Task OnErrorAsync(Exception error)
        {
            Completed.TrySetException(error);
            Seen.TrySetException(error);
            return Task.CompletedTask;
        }
    }
}
