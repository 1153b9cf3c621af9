using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Testing;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// The ends a build does not choose: cancel (the whole process tree dies, grandchildren and escaped sessions too),
/// the timeout, and a silo that died under a running build.
/// </summary>
public sealed class BuildProcessTests
{
    /// <summary>
    /// An install that forks a tree: background sleeps, a subshell's sleep whose parent exits at once (re-parented), and a
    /// sleep in a session of its own (outside the build's process group). Every process carries TREE_MARKER.
    /// </summary>
    private const string SpawningInstall = """
        sleep 600 &
        (sleep 600 &) 
        sh -c 'sleep 600' &
        setsid sleep 600 &
        echo "tree started"
        wait
        """;

    [Fact]
    public async Task Cancel_during_a_long_npm_install_kills_every_process_of_the_tree_and_ends_canceled()
    {
        Need.Component(Requirement.Check(Tools.Has("npm"), "npm", "apt-get install npm"));
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var marker = Guid.NewGuid().ToString("N");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings(), new Dictionary<string, string> { ["TREE_MARKER"] = marker });
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string>
        {
            // npm runs the preinstall script through its own shell: npm → sh → the tree above.
            ["package.json"] = """{"name":"site","version":"1.0.0","private":true,"scripts":{"preinstall":"sh spawn.sh","build":"true"}}""",
            ["spawn.sh"] = SpawningInstall,
        });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        await silo.WaitForLineAsync(queued.Id, "tree started");
        Assert.Equal(BuildStatuses.Building, (await build.Get(owner)).Status);
        // npm, its shells and four sleeps at least.
        Assert.True(Tools.ProcessesWith("TREE_MARKER", marker).Count >= 5, "the install's process tree is running");

        var canceled = await build.Cancel(owner);

        Assert.Equal(BuildStatuses.Canceled, canceled.Status);
        Assert.Empty(await SurvivorsAsync(marker));
        var log = await silo.StoredLogAsync(queued.Id);
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text.StartsWith($"Canceled by user {owner.UserId}", StringComparison.Ordinal));
        Assert.True((await silo.Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, queued.Id).GetInfoAsync()).IsCompleted);
        Assert.Equal(DeploymentStatuses.Canceled, (await silo.DeploymentResultAsync(owner, deploymentId)).Status);
        // Canceling again answers the build as it is.
        Assert.Equal(canceled, await build.Cancel(owner));
    }

    [Fact]
    public async Task A_build_past_its_timeout_is_killed_and_ends_timed_out()
    {
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Builds:Timeout"] = "00:00:03" });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var marker = Guid.NewGuid().ToString("N");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings(Framework: "other", BuildCommand: "sleep 600 & sleep 600; wait", OutputDirectory: "."),
            new Dictionary<string, string> { ["TREE_MARKER"] = marker });
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "hi" });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        var log = await silo.LogUntilEndAsync(queued.Id);

        Assert.Equal(BuildStatuses.TimedOut, (await build.Get(owner)).Status);
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text.StartsWith("Timed out after 00:00:03", StringComparison.Ordinal));
        Assert.Empty(await SurvivorsAsync(marker));
        Assert.Equal(DeploymentStatuses.TimedOut, (await silo.DeploymentResultAsync(owner, deploymentId)).Status);
    }

    [Fact]
    public async Task A_started_build_whose_run_died_with_its_silo_ends_failed_with_a_system_line_and_frees_its_slot()
    {
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:ConcurrentBuilds"] = "1" });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings(Framework: "other", BuildCommand: "echo sleeping; sleep 600", OutputDirectory: "."));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "hi" });
        var (_, _, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        await silo.WaitForLineAsync(queued.Id, "sleeping");

        // The process dies: activations vanish without a word, and nothing in the new silo runs the build.
        await silo.RestartAsync(graceful: false);

        var build = silo.Grains.GetGrain<IBuildGrain>(queued.Id);
        var failed = await build.Get(owner);
        Assert.Equal(BuildStatuses.Failed, failed.Status);
        Assert.Contains("silo", failed.Error, StringComparison.Ordinal);
        var log = await silo.StoredLogAsync(queued.Id);
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text.StartsWith("The silo running this build stopped", StringComparison.Ordinal));
        var usage = await silo.Grains.GetGrain<IOrganizationQuotaGrain>(org).GetUsage();
        Assert.Equal(0, usage.Limits.Single(l => l.Limit == QuotaLimits.ConcurrentBuilds).Current);

        // The freed slot runs the next build at once.
        await silo.CreateProjectAsync(owner, org, "fast", new ProjectSettings(Framework: "static"));
        var (next, _, nextQueued) = await silo.QueueAsync(owner, org, "fast", new DeploymentSource(Files: files));
        await silo.LogUntilEndAsync(nextQueued.Id);
        Assert.Equal(BuildStatuses.Succeeded, (await next.Get(owner)).Status);
    }

    [Fact]
    public async Task The_reminder_fails_a_build_whose_silo_died_without_anyone_asking_for_it()
    {
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings(Framework: "other", BuildCommand: "echo sleeping; sleep 600", OutputDirectory: "."));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "hi" });
        var (_, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        await silo.WaitForLineAsync(queued.Id, "sleeping");

        await silo.RestartAsync(graceful: false);

        // Nobody calls the build: its reminder (CloudDeck:Builds:CheckPeriod, one minute) activates it, and the
        // activation ends it, completing the log and telling the deployment.
        var log = await silo.LogUntilEndAsync(queued.Id);
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text.StartsWith("The silo running this build stopped", StringComparison.Ordinal));
        Assert.Equal(DeploymentStatuses.Failed, (await silo.DeploymentResultAsync(owner, deploymentId)).Status);
        Assert.Equal(BuildStatuses.Failed, (await silo.Grains.GetGrain<IBuildGrain>(queued.Id).Get(owner)).Status);
    }

    /// <summary>Processes with the marker, once SIGKILL has had time to land (killed processes vanish from environ at once).</summary>
    private static async Task<IReadOnlyList<int>> SurvivorsAsync(string marker)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var left = Tools.ProcessesWith("TREE_MARKER", marker);
            if (left.Count == 0) return left;
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        return Tools.ProcessesWith("TREE_MARKER", marker);
    }
}
