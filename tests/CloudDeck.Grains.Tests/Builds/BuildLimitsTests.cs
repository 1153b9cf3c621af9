using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Builds;
using CloudDeck.Grains.Builds.Executor;
using CloudDeck.Grains.Processes;
using CloudDeck.Testing;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// Builds under CloudDeck:Builds:MemoryLimitMb and CpuTimeLimitSeconds, enforced with prlimit (the path CI takes: a
/// container has no writable cgroup tree). Every allocating script is bounded, so a limit that failed to apply shows as
/// a succeeded build, not as a machine out of memory.
/// </summary>
public sealed class BuildLimitsTests
{
    /// <summary>64 MiB Buffers, touched, up to 1.5 GiB: Node's "Array buffer allocation failed" once RLIMIT_DATA is hit.</summary>
    private const string BufferHog =
        "const held = []; for (let i = 0; i < 24; i++) { held.push(Buffer.alloc(64 * 1024 * 1024, 1)); console.log('holding ' + (i + 1) * 64 + ' MiB'); }";

    /// <summary>8 MB JS arrays up to 1.6 GB: V8's "JavaScript heap out of memory" and SIGABRT once the heap cannot grow.</summary>
    private const string HeapHog =
        "const held = []; for (let i = 0; i < 200; i++) { held.push(new Array(1e6).fill(1.5)); } console.log('held', held.length);";

    private static void NeedNodeAndPrlimit()
    {
        Need.Component(Requirement.Check(Tools.Has("node"), "node", "apt-get install nodejs"));
        Need.Component(Requirement.Check(ProcessLimits.Unenforceable is null, "prlimit", "apt-get install util-linux"));
    }

    [Theory]
    [InlineData(BufferHog)]
    [InlineData(HeapHog)]
    public async Task A_build_that_allocates_far_beyond_its_memory_limit_ends_failed_out_of_memory_and_leaves_no_process(string script)
    {
        NeedNodeAndPrlimit();
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Builds:MemoryLimitMb"] = "256" });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "hog", new ProjectSettings(Framework: "other", BuildCommand: "node hog.js", OutputDirectory: "."));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["hog.js"] = script });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "hog", new DeploymentSource(Files: files));
        await silo.LogUntilEndAsync(queued.Id);

        var done = await build.Get(owner);
        var stored = await silo.StoredLogAsync(queued.Id);
        var text = string.Join("\n", stored.Select(l => $"[{l.Stream}] {l.Text}"));
        Assert.True(done.Status == BuildStatuses.Failed, text);
        Assert.Equal("The build ran out of memory (limit 256 MiB per process)", done.Error);
        Assert.NotEqual(0, done.ExitCode);
        Assert.Contains(stored, l => l.Stream == BuildLogStreams.System && l.Text == "Build failed: The build ran out of memory (limit 256 MiB per process)");
        Assert.Contains(stored, l => l.Stream == BuildLogStreams.System && l.Text.StartsWith("Resource limits: memory 256 MiB", StringComparison.Ordinal));
        Assert.Empty(Tools.ProcessesWith(ProcessTree.MarkerVariable, queued.Id));
        var (status, _) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal(DeploymentStatuses.Failed, status);
    }

    [Fact]
    public async Task A_build_that_spins_past_its_cpu_time_limit_ends_failed_naming_the_limit()
    {
        NeedNodeAndPrlimit();
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Builds:CpuTimeLimitSeconds"] = "1" });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        // Bounded by wall time: without the limit the loop ends by itself after a minute and the build succeeds.
        await silo.CreateProjectAsync(owner, org, "spin", new ProjectSettings(Framework: "other",
            BuildCommand: "node -e \"const end = Date.now() + 60000; while (Date.now() < end) {}\"", OutputDirectory: "."));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["index.html"] = "x" });

        var (build, _, queued) = await silo.QueueAsync(owner, org, "spin", new DeploymentSource(Files: files));
        await silo.LogUntilEndAsync(queued.Id);

        var done = await build.Get(owner);
        var stored = await silo.StoredLogAsync(queued.Id);
        Assert.True(done.Status == BuildStatuses.Failed, string.Join("\n", stored.Select(l => l.Text)));
        Assert.Equal("The build exceeded its CPU time limit (1 s per process)", done.Error);
        Assert.Contains(stored, l => l.Stream == BuildLogStreams.System && l.Text == "Build failed: The build exceeded its CPU time limit (1 s per process)");
        Assert.Empty(Tools.ProcessesWith(ProcessTree.MarkerVariable, queued.Id));
    }

    [Fact]
    public async Task An_npm_build_succeeds_under_the_default_limits_and_its_processes_carry_them()
    {
        Need.Component(Requirement.Check(Tools.Has("npm"), "npm", "apt-get install npm"));
        NeedNodeAndPrlimit();
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings());
        // npm install links a local dependency; the build (node under npm under sh) prints the limits it runs under.
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string>
        {
            ["package.json"] = BuildPipelineTests.Package("node build.js", ""","dependencies":{"greeting":"file:./greeting"}"""),
            ["greeting/package.json"] = """{"name":"greeting","version":"1.0.0","main":"index.js"}""",
            ["greeting/index.js"] = "module.exports = 'hello from a dependency';",
            ["build.js"] = """
                const fs = require('fs');
                for (const line of fs.readFileSync('/proc/self/limits', 'utf8').split('\n')) {
                  if (line.startsWith('Max data size') || line.startsWith('Max cpu time')) console.log(line.replace(/\s+/g, ' ').trim());
                }
                fs.mkdirSync('dist', { recursive: true });
                fs.writeFileSync('dist/index.html', require('greeting'));
                """,
        });

        var (build, _, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        var log = await silo.LogUntilEndAsync(queued.Id);

        var done = await build.Get(owner);
        Assert.True(done.Status == BuildStatuses.Succeeded, string.Join("\n", log.Select(l => l.Text)));
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System
            && l.Text.StartsWith("Resource limits: memory 2048 MiB, CPU time 3600 s per process (prlimit: RLIMIT_DATA, RLIMIT_CPU)", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Stream == BuildLogStreams.Stdout && l.Text == "Max data size 2147483648 2147483648 bytes");
        Assert.Contains(log, l => l.Stream == BuildLogStreams.Stdout && l.Text == $"Max cpu time 3600 {3600 + ProcessLimits.CpuKillGraceSeconds} seconds");
    }

    [Fact]
    public void The_limit_settings_default_to_2_GiB_and_an_hour_0_turns_one_off_and_a_wrong_one_stops_the_start_naming_it()
    {
        static BuildOptions Read(params (string Key, string Value)[] settings) => BuildOptions.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.ToDictionary(s => $"{BuildOptions.Section}:{s.Key}", s => (string?)s.Value)).Build(), "/var/lib/clouddeck");

        Assert.Equal(new ProcessLimits(2048, 3600, 1024, 10240), Read().ProcessLimits);
        Assert.Equal(new ProcessLimits(null, 3600, 1024, 10240), Read(("MemoryLimitMb", "0")).ProcessLimits);
        Assert.Equal(new ProcessLimits(512, null, 1024, 10240), Read(("MemoryLimitMb", "512"), ("CpuTimeLimitSeconds", "0")).ProcessLimits);
        Assert.True(Read(("MemoryLimitMb", "0"), ("CpuTimeLimitSeconds", "0"), ("MaxProcesses", "0"), ("DiskLimitMb", "0")).ProcessLimits.IsNone);
        Assert.Contains("CloudDeck:Builds:MaxProcesses", Assert.Throws<InvalidOperationException>(() => Read(("MaxProcesses", "5"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:DiskLimitMb", Assert.Throws<InvalidOperationException>(() => Read(("DiskLimitMb", "-1"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:MemoryLimitMb", Assert.Throws<InvalidOperationException>(() => Read(("MemoryLimitMb", "10"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:MemoryLimitMb", Assert.Throws<InvalidOperationException>(() => Read(("MemoryLimitMb", "-1"))).Message, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:CpuTimeLimitSeconds", Assert.Throws<InvalidOperationException>(() => Read(("CpuTimeLimitSeconds", "-5"))).Message, StringComparison.Ordinal);
    }
}
