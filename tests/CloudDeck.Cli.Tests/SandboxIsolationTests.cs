using CloudDeck.Api.Tests;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// Issue 14's acceptance for the local sandbox, in the real API process (embedded silo; builds and servers sandboxed by
/// bubblewrap and slirp4netns): the probes of <see cref="IsolationProbeTest"/> find nothing, and with isolation required
/// and no sandbox nothing runs.
/// </summary>
[Trait("needs", "sandbox")]
public sealed class SandboxIsolationTests : IsolationProbeTest
{
    private static string? MissingSandbox =>
        Requirement.Check(File.Exists("/usr/bin/bwrap") && File.Exists("/usr/bin/slirp4netns"), "bubblewrap and slirp4netns",
            "apt-get install bubblewrap slirp4netns");

    /// <summary>slirp4netns' address for the host, as the sandbox sees it.</summary>
    private const string SlirpHost = "10.0.2.2";

    [Fact]
    public async Task A_build_that_looks_for_the_platforms_keys_database_processes_other_builds_artifacts_and_cache_reads_none_of_it()
    {
        Need.Component(MissingSandbox);
        var (log, secrets) = await ProbeBuildAsync([], SlirpHost);

        AssertFoundNothing(log, secrets, $"ls: cannot access '{DataDirectory}': No such file or directory");
        Assert.Contains("Sandbox: uid ", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_app_that_looks_for_the_same_things_reads_none_of_it()
    {
        Need.Component(MissingSandbox);
        Need.Component(NodeHarness.MissingReason);
        var (runtime, secrets) = await ProbeServerAsync([], SlirpHost);

        AssertFoundNothing(runtime, secrets, $"ls: cannot access '{DataDirectory}': No such file or directory");
        Assert.Contains("in a sandbox (uid ", runtime, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_isolation_required_and_no_sandbox_a_build_fails_at_once_saying_why_and_nothing_runs()
    {
        var api = await StartApiAsync(new Dictionary<string, string?>
        {
            ["CloudDeck__Builds__Isolation"] = "required",
            // A machine without bubblewrap, as far as this API can tell.
            ["CloudDeck__Sandbox__BubblewrapPath"] = "/nonexistent/bwrap",
        });
        var user = await LoggedInAsync(api);
        var ran = Path.Combine(Work, "ran.txt");
        var site = await SiteAsync("refused", new() { ["index.html"] = "hi" });
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "refused", "--framework", "other",
            "--build-command", $"echo ran > '{ran}'", "--output-directory", "."], site)).Expect(0);
        var deploy = (await Deck(["deploy", "--prod", "--api", Url(api)], site)).Expect(1);
        var log = string.Join('\n', (await Deck(["logs", DeploymentIdLine().Match(deploy.Output).Groups[1].Value, "--api", Url(api)], site)).Stdout);

        Assert.Contains("No sandbox can run on this machine (bubblewrap is not installed", log, StringComparison.Ordinal);
        Assert.Contains("CloudDeck:Builds:Isolation is required: nothing was run", log, StringComparison.Ordinal);
        Assert.DoesNotContain("$ echo ran", log, StringComparison.Ordinal);
        Assert.False(File.Exists(ran), "the build command ran");
        Assert.Contains("CloudDeck:Builds:Isolation=required: every build and server app will be refused", api.Process.Output, StringComparison.Ordinal);
    }
}
