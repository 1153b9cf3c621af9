using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Builds;
using CloudDeck.Grains.Docker;
using CloudDeck.Grains.Servers;
using CloudDeck.Testing;
using Docker.DotNet.Models;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// The Docker build executor (CloudDeck:Builds:Executor=docker) on a real dockerd, with the node image made from this
/// machine's files (<see cref="NodeImage"/>): who a step runs as, its log, its memory limit, cancel, a git source.
/// </summary>
[Trait("needs", "docker")]
public sealed class DockerBuildTests
{
    private const string WhoAmI =
        "echo \"uid=$(id -u)\"; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; echo \"home=$HOME tmp=$TMPDIR\"; " +
        "touch /usr/written 2>/dev/null && echo 'root writable' || echo 'root read-only'; echo 'to stderr' >&2; " +
        "node -e 'console.log(\"node \" + process.version)'; mkdir -p out && echo ok > out/index.html";

    /// <summary>64 MiB Buffers, touched, up to 1.5 GiB: the container's memory limit ends it long before.</summary>
    private const string BufferHog =
        "const held = []; for (let i = 0; i < 24; i++) { held.push(Buffer.alloc(64 * 1024 * 1024, 1)); console.log('holding ' + (i + 1) * 64 + ' MiB'); }";

    [Fact]
    public async Task A_docker_build_runs_each_step_in_a_container_as_a_non_root_uid_without_capabilities_on_a_read_only_root_and_logs_each_line()
    {
        await using var docker = await DockerSiloAsync();
        var silo = docker.Silo;
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "who", new ProjectSettings(Framework: "other", BuildCommand: WhoAmI, OutputDirectory: "out"));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["README.md"] = "hello" });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "who", new DeploymentSource(Files: files));
        var log = await silo.LogUntilEndAsync(queued.Id);
        var text = log.Select(l => l.Text).ToList();

        Assert.True((await build.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", text));
        Assert.Contains(text, l => l.StartsWith("Docker: every command runs in a container of its own as a uid of its own (300000…309999)", StringComparison.Ordinal));
        Assert.Contains(text, l => l.StartsWith("Detected other (static site): the project's framework setting is other", StringComparison.Ordinal));
        Assert.Contains(text, l => l.StartsWith($"Image: {docker.Image} ", StringComparison.Ordinal));
        Assert.InRange(UidIn(text), 300_000, 309_999);
        Assert.Contains("CapEff:\t0000000000000000", text);
        Assert.Contains("NoNewPrivs:\t1", text);
        Assert.Contains("home=/build/home tmp=/tmp", text);
        Assert.Contains("root read-only", text);
        Assert.Contains(log, l => l.Stream == BuildLogStreams.Stderr && l.Text == "to stderr");
        Assert.Contains(text, l => l.StartsWith("node v", StringComparison.Ordinal));
        var (_, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal("ok\n", silo.ReadStored(manifest!.Files.Single(f => f.Path == "index.html").Sha256));
        Assert.Empty(await docker.ContainersOfAsync(queued.Id));
    }

    [Fact]
    public async Task A_docker_build_past_its_memory_limit_fails_with_a_message_naming_the_limit()
    {
        await using var docker = await DockerSiloAsync(new() { ["CloudDeck:Builds:MemoryLimitMb"] = "128" });
        var silo = docker.Silo;
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "hog", new ProjectSettings(Framework: "other", BuildCommand: "node hog.js", OutputDirectory: "."));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["hog.js"] = BufferHog });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "hog", new DeploymentSource(Files: files));
        await silo.LogUntilEndAsync(queued.Id);

        var done = await build.Get(owner);
        var stored = await silo.StoredLogAsync(queued.Id);
        const string message = "The build ran out of memory (limit 128 MiB for its container, CloudDeck:Builds:MemoryLimitMb)";
        Assert.True(done.Status == BuildStatuses.Failed, string.Join("\n", stored.Select(l => l.Text)));
        Assert.Equal(message, done.Error);
        Assert.Contains(stored, l => l.Stream == BuildLogStreams.System && l.Text == "Build failed: " + message);
        Assert.DoesNotContain(stored, l => l.Text == "holding 1536 MiB");
        Assert.Equal(DeploymentStatuses.Failed, (await silo.DeploymentResultAsync(owner, deploymentId)).Status);
        Assert.Empty(await docker.ContainersOfAsync(queued.Id));
    }

    [Fact]
    public async Task A_docker_build_writing_past_its_disk_limit_fails_with_a_message_naming_the_limit()
    {
        await using var docker = await DockerSiloAsync(new() { ["CloudDeck:Builds:DiskLimitMb"] = "16" });
        var silo = docker.Silo;
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        // 128 MiB in files of 4 MiB over about 16 s, each under the per-file cap: the watch over the work directory (every
        // 2 s) ends it long before the loop would finish, even on a loaded machine.
        await silo.CreateProjectAsync(owner, org, "disk", new ProjectSettings(Framework: "other",
            BuildCommand: "for i in $(seq 1 32); do head -c 4194304 /dev/zero > part$i.bin; sleep 0.5; done; echo wrote everything", OutputDirectory: "."));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "x" });

        var (build, _, queued) = await silo.QueueAsync(owner, org, "disk", new DeploymentSource(Files: files));
        await silo.LogUntilEndAsync(queued.Id);

        var done = await build.Get(owner);
        var stored = await silo.StoredLogAsync(queued.Id);
        Assert.True(done.Status == BuildStatuses.Failed, string.Join("\n", stored.Select(l => l.Text)));
        Assert.Equal("The build wrote past its disk limit (16 MiB, CloudDeck:Builds:DiskLimitMb)", done.Error);
        Assert.DoesNotContain(stored, l => l.Text == "wrote everything");
        Assert.Empty(await docker.ContainersOfAsync(queued.Id));
    }

    [Fact]
    public async Task Builds_running_at_once_in_docker_run_as_uids_of_their_own_under_their_cpu_quota()
    {
        await using var docker = await DockerSiloAsync(new() { ["CloudDeck:Builds:ContainerCpus"] = "0.5" });
        var silo = docker.Silo;
        const string command = "echo \"uid=$(id -u)\"; echo \"quota=$(cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null | head -1)\"; " +
                               "echo \"$((6 * 7)) running\"; sleep 600";
        List<(Caller Owner, string Org)> owners = [];
        foreach (var email in new[] { "olive@example.com", "otto@example.com" })
        {
            var (owner, org) = await silo.SignUpAsync(email);
            await silo.CreateProjectAsync(owner, org, "busy", new ProjectSettings(Framework: "other", BuildCommand: command, OutputDirectory: "."));
            owners.Add((owner, org));
        }

        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "hi" });
        List<(Caller Owner, IBuildGrain Build, string Id)> builds = [];
        foreach (var (owner, org) in owners)
        {
            var (build, _, queued) = await silo.QueueAsync(owner, org, "busy", new DeploymentSource(Files: files));
            builds.Add((owner, build, queued.Id));
        }

        // Not the command line the log shows first: what the running command printed.
        foreach (var (_, _, id) in builds) await silo.WaitForLineAsync(id, "42 running");
        // Both containers run at this moment: each holds its uid by its name on the Docker host.
        var running = new List<ContainerListResponse>();
        foreach (var (_, _, id) in builds) running.Add(Assert.Single(await docker.ContainersOfAsync(id)));
        Assert.All(running, c => Assert.Equal("running", c.State));
        var uids = new List<int>();
        foreach (var (_, _, id) in builds) uids.Add(UidIn((await silo.StoredLogAsync(id)).Select(l => l.Text).ToList()));
        Assert.NotEqual(uids[0], uids[1]);
        Assert.All(uids, uid => Assert.InRange(uid, 300_000, 309_999));
        Assert.Equal(uids.Select(u => $"/clouddeck-uid-{u}").Order(), running.Select(c => Assert.Single(c.Names)).Order());
        // Half a core: a CFS quota of 50 ms per 100 ms period (cgroup v2 "50000 100000", v1 "50000").
        foreach (var (_, _, id) in builds)
        {
            var quota = Assert.Single((await silo.StoredLogAsync(id)).Select(l => l.Text), l => l.StartsWith("quota=", StringComparison.Ordinal));
            Assert.StartsWith("quota=50000", quota, StringComparison.Ordinal);
        }

        foreach (var (owner, build, id) in builds)
        {
            await build.Cancel(owner);
            Assert.Empty(await docker.ContainersOfAsync(id));
        }
    }

    private static int UidIn(IReadOnlyList<string> log) =>
        int.Parse(Assert.Single(log, l => l.StartsWith("uid=", StringComparison.Ordinal))["uid=".Length..], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Canceling_a_docker_build_kills_its_container()
    {
        await using var docker = await DockerSiloAsync();
        var silo = docker.Silo;
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "slow", new ProjectSettings(Framework: "other",
            BuildCommand: "echo \"$((6 * 7)) started\"; sleep 600 & sleep 600; wait", OutputDirectory: "."));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "hi" });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "slow", new DeploymentSource(Files: files));
        // Not the command line the log shows first: what the running command printed.
        await silo.WaitForLineAsync(queued.Id, "42 started");
        var running = Assert.Single(await docker.ContainersOfAsync(queued.Id));
        Assert.Equal("running", running.State);

        var canceled = await build.Cancel(owner);

        Assert.Equal(BuildStatuses.Canceled, canceled.Status);
        Assert.Empty(await docker.ContainersOfAsync(queued.Id));
        var log = await silo.StoredLogAsync(queued.Id);
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text.StartsWith($"Canceled by user {owner.UserId}", StringComparison.Ordinal));
        Assert.Equal(DeploymentStatuses.Canceled, (await silo.DeploymentResultAsync(owner, deploymentId)).Status);
    }

    [Fact]
    public async Task A_docker_build_clones_its_git_source_in_a_container_of_the_git_image()
    {
        Need.Component(Requirement.Check(Tools.Has("git"), "git", "apt-get install git"));
        await using var docker = await DockerSiloAsync();
        var silo = docker.Silo;
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var repository = Directory.CreateDirectory(Path.Combine(silo.Directory, "repo")).FullName;
        Dictionary<string, string> identity = new()
        {
            ["GIT_AUTHOR_NAME"] = "Test", ["GIT_AUTHOR_EMAIL"] = "test@example.com", ["GIT_COMMITTER_NAME"] = "Test", ["GIT_COMMITTER_EMAIL"] = "test@example.com",
        };
        await Tools.RunAsync("git", ["init", "--quiet", "--initial-branch", "main"], repository, identity);
        await File.WriteAllTextAsync(Path.Combine(repository, "index.html"), "from git", TestContext.Current.CancellationToken);
        await Tools.RunAsync("git", ["add", "."], repository, identity);
        await Tools.RunAsync("git", ["commit", "--quiet", "-m", "v1"], repository, identity);
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings(LocalPath: repository));

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(GitRef: "main"));
        var log = await silo.LogUntilEndAsync(queued.Id);

        Assert.True((await build.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", log.Select(l => l.Text)));
        Assert.Contains(log, l => l.Text.StartsWith("Cloning file://", StringComparison.Ordinal));
        var (_, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal("from git", silo.ReadStored(manifest!.Files.Single(f => f.Path == "index.html").Sha256));
    }

    [Fact]
    public void Docker_settings_are_checked_at_start_and_a_wrong_one_stops_it_naming_the_setting()
    {
        static string Refusal(Func<IConfiguration, object> read, params (string Key, string Value)[] settings) =>
            Assert.Throws<InvalidOperationException>(() => read(new ConfigurationBuilder()
                .AddInMemoryCollection(settings.ToDictionary(s => s.Key, s => (string?)s.Value)).Build())).Message;

        var defaults = DockerOptions.Read(new ConfigurationBuilder().Build());
        Assert.Equal("unix:///var/run/docker.sock", defaults.Endpoint);
        Assert.Equal("node:20", defaults.ImageFor("vite"));
        Assert.Equal("python:3.12", defaults.ImageFor("python"));
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", defaults.ImageFor("dotnet"));
        Assert.Equal("node:22", DockerOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["CloudDeck:Docker:Images:vite"] = "node:22" }).Build()).ImageFor("vite"));

        Assert.Contains("CloudDeck:Docker:BuildNetwork must not be host", Refusal(DockerOptions.Read, ("CloudDeck:Docker:BuildNetwork", "host")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Docker:ServerNetwork", Refusal(DockerOptions.Read, ("CloudDeck:Docker:ServerNetwork", "none")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Docker:FirstUid must be 1000 or more", Refusal(DockerOptions.Read, ("CloudDeck:Docker:FirstUid", "0")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Docker:UidCount must be at least 1", Refusal(DockerOptions.Read, ("CloudDeck:Docker:UidCount", "0")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:ContainerCpus must be 0 (no limit) or at least 0.01",
            Refusal(c => BuildOptions.Read(c, Path.GetTempPath()), ("CloudDeck:Builds:ContainerCpus", "-1")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Servers:ContainerCpus must be 0 (no limit) or at least 0.01",
            Refusal(c => ServerOptions.Read(c, Path.GetTempPath()), ("CloudDeck:Servers:ContainerCpus", "0.001")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Servers:DiskLimitMb must be 0 (no limit) or at least 16",
            Refusal(c => ServerOptions.Read(c, Path.GetTempPath()), ("CloudDeck:Servers:DiskLimitMb", "8")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Docker:Endpoint", Refusal(DockerOptions.Read, ("CloudDeck:Docker:Endpoint", "/var/run/docker.sock")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Docker:Images:node", Refusal(DockerOptions.Read, ("CloudDeck:Docker:Images:node", "not an image")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:Executor must be local or docker",
            Refusal(c => BuildOptions.Read(c, Path.GetTempPath()), ("CloudDeck:Builds:Executor", "kubernetes")), StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Servers:Runtime must be process or docker",
            Refusal(c => ServerOptions.Read(c, Path.GetTempPath()), ("CloudDeck:Servers:Runtime", "vm")), StringComparison.Ordinal);
    }

    private static async Task<DockerSilo> DockerSiloAsync(Dictionary<string, string?>? settings = null)
    {
        var (daemon, image) = await NeedDocker.ImageAsync();
        var all = NeedDocker.Settings(daemon, image);
        all["CloudDeck:Builds:Executor"] = "docker";
        foreach (var (key, value) in settings ?? []) all[key] = value;
        return new DockerSilo(await BuildSilo.StartAsync(all), daemon, image);
    }

    private sealed record DockerSilo(BuildSilo Silo, DockerDaemon Daemon, string Image) : IAsyncDisposable
    {
        /// <summary>The containers dockerd still has for a build (running or not).</summary>
        public async Task<IList<ContainerListResponse>> ContainersOfAsync(string buildId)
        {
            using var client = Daemon.CreateClient();
            return await client.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.Subject}={buildId}"] = true } },
            }, TestContext.Current.CancellationToken);
        }

        public ValueTask DisposeAsync() => Silo.DisposeAsync();
    }
}
