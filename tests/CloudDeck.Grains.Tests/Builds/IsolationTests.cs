using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Sandbox;
using CloudDeck.Testing;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>CloudDeck:Builds:Isolation: who a build runs as, and what its log says when it is not sandboxed.</summary>
public sealed class IsolationTests
{
    private const string WhoAmI =
        "echo \"uid=$(id -u)\"; grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; echo \"home=$HOME tmp=$TMPDIR\"; mkdir -p out; echo ok > out/index.html";

    [Fact]
    public async Task A_sandboxed_build_runs_as_a_uid_of_its_own_without_capabilities_in_its_own_home()
    {
        Need.Component(Requirement.Check(File.Exists("/usr/bin/bwrap") && File.Exists("/usr/bin/slirp4netns"), "bubblewrap and slirp4netns",
            "apt-get install bubblewrap slirp4netns"));
        var log = await BuildAsync(new Dictionary<string, string?>());
        Assert.Contains(log, l => l.StartsWith("Sandbox: uid 2", StringComparison.Ordinal));
        var uid = int.Parse(log.Single(l => l.StartsWith("uid=", StringComparison.Ordinal))[4..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(uid, 200_000, 209_999);
        Assert.Contains("CapEff:\t0000000000000000", log);
        Assert.Contains("NoNewPrivs:\t1", log);
        Assert.Contains("home=/build/home tmp=/tmp", log);
        Assert.DoesNotContain(log, l => l.StartsWith("Warning:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Where_no_sandbox_can_run_a_build_runs_unsandboxed_and_its_log_says_so_and_why()
    {
        var log = await BuildAsync(new Dictionary<string, string?> { ["CloudDeck:Sandbox:BubblewrapPath"] = "/nonexistent/bwrap" });
        Assert.Contains(log, l => l.StartsWith("Warning: No sandbox can run on this machine (bubblewrap is not installed (looked for /nonexistent/bwrap",
            StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.StartsWith("Sandbox: uid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_isolation_none_a_build_runs_unsandboxed_and_its_log_says_the_operator_chose_it()
    {
        var log = await BuildAsync(new Dictionary<string, string?> { ["CloudDeck:Builds:Isolation"] = "none" });
        Assert.Contains(log, l => l.StartsWith("Warning: Isolation is off (CloudDeck:Builds:Isolation=none)", StringComparison.Ordinal));
        Assert.DoesNotContain(log, l => l.StartsWith("Sandbox: uid", StringComparison.Ordinal));
    }

    [Fact]
    public void Isolation_defaults_to_sandbox_embedded_and_required_in_cluster_mode_and_a_wrong_value_stops_the_start_naming_it()
    {
        static SandboxOptions Read(params (string Key, string Value)[] settings) =>
            SandboxOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(settings.ToDictionary(s => s.Key, s => (string?)s.Value)).Build());

        Assert.Equal(IsolationModes.Sandbox, Read().Isolation);
        Assert.Equal(IsolationModes.Required, Read(("CloudDeck:Cluster:Mode", "Cluster")).Isolation);
        Assert.Equal(IsolationModes.None, Read(("CloudDeck:Cluster:Mode", "Cluster"), ("CloudDeck:Builds:Isolation", "None")).Isolation);
        Assert.Contains("CloudDeck:Builds:Isolation", Assert.Throws<InvalidOperationException>(() => Read(("CloudDeck:Builds:Isolation", "maybe"))).Message,
            StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Sandbox:FirstUid", Assert.Throws<InvalidOperationException>(() => Read(("CloudDeck:Sandbox:FirstUid", "0"))).Message,
            StringComparison.Ordinal);
    }

    private static async Task<List<string>> BuildAsync(Dictionary<string, string?> settings)
    {
        await using var silo = await BuildSilo.StartAsync(settings);
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "who", new ProjectSettings(Framework: "other", BuildCommand: WhoAmI, OutputDirectory: "out"));
        var files = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string> { ["README.md"] = "hello" });
        var (build, _, queued) = await silo.QueueAsync(owner, org, "who", new DeploymentSource(Files: files));
        var log = (await silo.LogUntilEndAsync(queued.Id)).Select(l => l.Text).ToList();
        Assert.True((await build.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", log));
        return log;
    }
}
