using System.Reflection;
using Actors.Runtime;
using Actors.Runtime.Testing;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Builds;
using CloudDeck.Grains.Licenses;
using CloudDeck.Grains.Organizations;
using CloudDeck.Grains.Usage;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// A silo with the real build pipeline (BuildGrain, the queue, the local executor running real processes) on SQLite,
/// so a restart keeps state; the project and deployment grains are the test doubles (see <see cref="TestProjectGrain"/>).
/// </summary>
public sealed class BuildSilo : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";

    private readonly InProcessTestCluster _cluster;

    private BuildSilo(InProcessTestCluster cluster, string directory, TestArtifactStore store)
    {
        _cluster = cluster;
        Directory = directory;
        Store = store;
    }

    /// <summary>Everything of this silo on disk: database, artifacts, work and cache directories, test fixtures.</summary>
    public string Directory { get; }

    public string WorkDirectory => Path.Combine(Directory, "builds");

    public TestArtifactStore Store { get; }

    public IGrainFactory Grains => _cluster.GrainFactory;

    public IStreamProvider Streams => _cluster.Services.GetRequiredService<IStreamProvider>();

    public Task RestartAsync(bool graceful) => _cluster.RestartAsync(graceful);

    public static async Task<BuildSilo> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("clouddeck-builds-").FullName;
        var artifacts = System.IO.Directory.CreateDirectory(Path.Combine(directory, "artifacts")).FullName;
        var store = new TestArtifactStore(artifacts);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CloudDeck:Plans:Hobby:TeamMembers"] = "-1",
            ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "-1",
        }).AddInMemoryCollection(settings ?? new Dictionary<string, string?>()).Build();
        var database = Path.Combine(directory, "clouddeck.db");
        var cluster = await InProcessTestCluster.StartAsync(silo =>
        {
            foreach (var grain in PipelineGrainClasses()) AddGrain.MakeGenericMethod(grain).Invoke(silo, null);
            silo.AddGrain<TestProjectGrain>().AddGrain<TestDeploymentGrain>();
            silo.AddSqliteStorage(database).UseSqliteReminders(database).UseSqliteStreams(database);
            silo.Services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1000);
            silo.Services.AddSingleton<IArtifactStore>(store);
            silo.Services.AddCloudDeckAccounts(configuration, directory);
            silo.Services.AddCloudDeckLicenses(configuration, directory, cluster: false);
            silo.Services.AddCloudDeckPlans(configuration);
            silo.Services.AddCloudDeckUsage(configuration);
            silo.Services.AddCloudDeckBuilds(configuration, directory);
        });
        return new BuildSilo(cluster, directory, store);
    }

    private static readonly MethodInfo AddGrain = typeof(SiloBuilder).GetMethod(nameof(SiloBuilder.AddGrain))!;

    /// <summary>Every grain class of CloudDeck.Grains but real project and deployment grains, whose interfaces the doubles take.</summary>
    private static IEnumerable<Type> PipelineGrainClasses() =>
        GrainsAssembly.Value.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false, ContainsGenericParameters: false }
            && typeof(Grain).IsAssignableFrom(t)
            && !typeof(IProjectGrain).IsAssignableFrom(t) && !typeof(IDeploymentGrain).IsAssignableFrom(t));

    public async Task<(Caller Caller, string Organization)> SignUpAsync(string email)
    {
        var result = await Grains.GetGrain<IEmailIndexGrain>(email).SignUp(new SignUpRequest(email, Password, email.Split('@')[0], "10.0.0.1"));
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

    /// <summary>Queues a build of the project for a new deployment and answers both ids.</summary>
    public async Task<(IBuildGrain Build, string DeploymentId, BuildView View)> QueueAsync(Caller caller, string organization, string project,
        DeploymentSource source)
    {
        var id = BuildIds.New();
        var deploymentId = DeploymentIds.New();
        var build = Grains.GetGrain<IBuildGrain>(id);
        var view = await build.Queue(new BuildRequest(organization, project, deploymentId, ProjectEnvironments.Preview, source, caller.UserId));
        return (build, deploymentId, view);
    }

    /// <summary>Follows the build's log from its first line until the build completes it; answers every line.</summary>
    public async Task<IReadOnlyList<BuildLogLine>> LogUntilEndAsync(string buildId)
    {
        var collector = new LogCollector();
        await using (await Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, buildId).SubscribeAsync(collector, StreamSequenceToken.First))
        {
            await collector.Completed.Task.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
        }

        return collector.Lines;
    }

    /// <summary>The whole stored log, as the API's text endpoint reads it.</summary>
    public async Task<IReadOnlyList<BuildLogLine>> StoredLogAsync(string buildId)
    {
        var page = await Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, buildId).ReadAsync(StreamSequenceToken.First, 100_000);
        return [.. page.Items.Select(i => i.Item)];
    }

    /// <summary>Waits until the line appears in the log (the build is running the step that prints it).</summary>
    public async Task WaitForLineAsync(string buildId, string text)
    {
        var collector = new LogCollector(text);
        await using (await Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, buildId).SubscribeAsync(collector, StreamSequenceToken.First))
        {
            await collector.Seen.Task.WaitAsync(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>What the build told its deployment, once it has (the notification leaves the build's turn).</summary>
    public async Task<(string Status, DeploymentManifest? Manifest, long Calls)> DeploymentResultAsync(string deploymentId)
    {
        var deployment = Grains.GetGrain<IDeploymentGrain>(deploymentId);
        var anyone = new Caller("nobody", "nobody@example.com", "10.0.0.1");
        for (var attempt = 0; attempt < 1200; attempt++)
        {
            var view = await deployment.Get(anyone);
            if (view.Sequence > 0) return (view.Status, await deployment.GetManifest(), view.Sequence);
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"Deployment {deploymentId} never heard from its build.");
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

    private sealed class LogCollector(string? waitFor = null) : IAsyncObserver<BuildLogLine>
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

        public Task OnNextAsync(BuildLogLine item, StreamSequenceToken token)
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
