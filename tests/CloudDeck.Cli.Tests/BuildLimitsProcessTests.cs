using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// A build that allocates far beyond CloudDeck:Builds:MemoryLimitMb in the real API process (embedded silo, builds as
/// its children, limits through prlimit): the API and its silo keep answering throughout, the build ends failed with
/// the out-of-memory line in its log, and none of its processes remain.
/// </summary>
public sealed partial class BuildLimitsProcessTests : DeckProcessTest
{
    /// <summary>64 MiB Buffers, touched, up to 1.5 GiB: bounded, so a limit that failed to apply shows as a succeeded build.</summary>
    private const string Hog =
        "const held = []; for (let i = 0; i < 24; i++) { held.push(Buffer.alloc(64 * 1024 * 1024, 1)); console.log('holding ' + (i + 1) * 64 + ' MiB'); }";

    [Fact]
    public async Task A_build_far_over_its_memory_limit_fails_out_of_memory_while_healthz_and_grains_keep_answering()
    {
        Need.Component(Requirement.Check(File.Exists("/usr/bin/prlimit") || File.Exists("/bin/prlimit"), "prlimit", "apt-get install util-linux"));
        Need.Component(NodeHarness.MissingReason);
        var api = await StartApiAsync(new Dictionary<string, string?> { ["CloudDeck__Builds__MemoryLimitMb"] = "256" });
        var user = await LoggedInAsync(api);
        var site = Directory.CreateDirectory(Path.Combine(Work, "hog")).FullName;
        await File.WriteAllTextAsync(Path.Combine(site, "hog.js"), Hog, Cancellation);
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "hog",
            "--framework", "other", "--build-command", "node hog.js", "--output-directory", "dist"], site)).Expect(0);

        using var stop = new CancellationTokenSource();
        var polls = PollAsync(api, stop.Token);
        var deploy = await Deck(["deploy", "--prod", "--api", Url(api)], site);
        await stop.CancelAsync();
        var answers = await polls;

        TestContext.Current.TestOutputHelper?.WriteLine($"{answers.Count} polls during the deploy, {answers.Count(a => a.Status == HttpStatusCode.OK)} answered 200");
        deploy.Expect(1);
        Assert.Contains("ended failed", Assert.Single(deploy.Stderr), StringComparison.Ordinal);
        var id = DeploymentIdLine().Match(deploy.Output).Groups[1].Value;
        var log = (await Deck(["logs", id, "--api", Url(api)], site)).Expect(0);
        Assert.Contains(log.Stdout, l => l.Contains("Build failed: The build ran out of memory (limit 256 MiB per process)", StringComparison.Ordinal));
        Assert.Contains(log.Stdout, l => l.Contains("Array buffer allocation failed", StringComparison.Ordinal));
        // Every poll of the API (/healthz) and of a grain behind it answered 200 while the build ran out of memory.
        Assert.NotEmpty(answers);
        Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.OK, $"{a.Path} answered {a.Status}"));
        Assert.Contains(answers, a => a.Path.StartsWith("/_diag/probe/", StringComparison.Ordinal));
        Assert.Empty(BuildProcesses());
        Assert.True(api.Process.ExitCode is null, "the API process must still be running");
    }

    [Theory]
    // The bomb's shell stays (sleep): one whose shell exits at once is torn down with its PID namespace within
    // microseconds, before it may reach the limit at all, and then no limit was hit to name.
    [InlineData("fork bomb", "b() { b | b & }; b; sleep 5", "CloudDeck__Builds__MaxProcesses", "64", "The build reached its process limit (64 processes and threads, CloudDeck:Builds:MaxProcesses)")]
    [InlineData("disk", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do head -c 8000000 /dev/zero > f$i; sleep 0.3; done", "CloudDeck__Builds__DiskLimitMb", "32",
        "The build wrote past its disk limit (32 MiB, CloudDeck:Builds:DiskLimitMb)")]
    [InlineData("one big file", "head -c 100000000 /dev/zero > big", "CloudDeck__Builds__DiskLimitMb", "32",
        "The build wrote past its disk limit (32 MiB, CloudDeck:Builds:DiskLimitMb)")]
    public async Task A_sandboxed_build_past_its_process_or_disk_limit_fails_naming_the_limit_while_healthz_and_grains_keep_answering(
        string what, string command, string setting, string value, string expected)
    {
        Need.Component(Requirement.Check(File.Exists("/usr/bin/bwrap") && File.Exists("/usr/bin/slirp4netns"), "bubblewrap and slirp4netns",
            "apt-get install bubblewrap slirp4netns"));
        var api = await StartApiAsync(new Dictionary<string, string?> { [setting] = value });
        var user = await LoggedInAsync(api);
        var site = Directory.CreateDirectory(Path.Combine(Work, "limited")).FullName;
        await File.WriteAllTextAsync(Path.Combine(site, "build.sh"), command, Cancellation);
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", "limited",
            "--framework", "other", "--build-command", "sh build.sh", "--output-directory", "dist"], site)).Expect(0);

        using var stop = new CancellationTokenSource();
        var polls = PollAsync(api, stop.Token);
        var deploy = await Deck(["deploy", "--prod", "--api", Url(api)], site);
        await stop.CancelAsync();
        var answers = await polls;

        deploy.Expect(1);
        var id = DeploymentIdLine().Match(deploy.Output).Groups[1].Value;
        var log = (await Deck(["logs", id, "--api", Url(api)], site)).Expect(0);
        Assert.True(log.Stdout.Any(l => l.Contains("Build failed: " + expected, StringComparison.Ordinal)), $"{what}: {string.Join('\n', log.Stdout)}");
        Assert.NotEmpty(answers);
        Assert.All(answers, a => Assert.True(a.Status == HttpStatusCode.OK, $"{a.Path} answered {a.Status}"));
        Assert.Contains(answers, a => a.Path.StartsWith("/_diag/probe/", StringComparison.Ordinal));
        // The platform's own database stays writable: a new sign-up after the build is stored.
        await SignUpAsync(api, "after-" + what.Replace(' ', '-') + "@example.com");
        Assert.True(api.Process.ExitCode is null, "the API process must still be running");
    }

    /// <summary>/healthz and a grain read, in turn, until stopped; a failed request counts as an answer with no status.</summary>
    private static async Task<List<(string Path, HttpStatusCode? Status)>> PollAsync(ApiHost api, CancellationToken stop)
    {
        var answers = new List<(string, HttpStatusCode?)>();
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var path = i % 2 == 0 ? "/healthz" : "/_diag/probe/limits";
            try
            {
                using var response = await api.Http.GetAsync(path, CancellationToken.None);
                answers.Add((path, response.StatusCode));
            }
            catch (HttpRequestException)
            {
                answers.Add((path, null));
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), stop);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return answers;
    }

    /// <summary>Processes whose HOME is a build work directory of this API (every build process has one).</summary>
    private List<int> BuildProcesses()
    {
        var home = Encoding.UTF8.GetBytes("HOME=" + Path.Combine(DataDirectory, "builds") + "/");
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            try
            {
                if (File.ReadAllBytes(Path.Combine(directory, "environ")).AsSpan().IndexOf(home) >= 0) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    private static string Url(ApiHost api) => api.BaseAddress.ToString();

    [GeneratedRegex(@"deployment ([0-9a-f]{16}) \(")]
    private static partial Regex DeploymentIdLine();
}
