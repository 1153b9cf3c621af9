using System.Net;
using System.Net.Http.Json;
using CloudDeck.Api.Tests;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// <c>./build.sh cluster up|down</c>: PostgreSQL, three silos and the API in cluster mode as local processes, a deploy
/// through <c>deck</c> against them, and nothing left running afterwards.
/// </summary>
public sealed class LocalClusterTests : DeckProcessTest
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Cluster_up_serves_a_deck_deploy_and_cluster_down_leaves_no_process_running()
    {
        Need.Component(Requirement.Check(PostgresServer.FindBinDirectory() is not null, "PostgreSQL server binaries", "apt-get install postgresql"));
        Need.Component(Requirement.Check(File.Exists("/usr/bin/bwrap") && File.Exists("/usr/bin/slirp4netns"), "bubblewrap and slirp4netns",
            "apt-get install bubblewrap slirp4netns (cluster mode requires sandboxed builds)"));
        var state = Path.Combine(DataDirectory, "cluster");
        var apiPort = ChildProcess.FreeTcpPort();
        var scriptEnvironment = new Dictionary<string, string?>
        {
            ["CLOUDDECK_CLUSTER_DIR"] = state,
            ["CLOUDDECK_CLUSTER_API_PORT"] = apiPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CLOUDDECK_CLUSTER_NO_BUILD"] = "1",
            ["CONFIGURATION"] = RepoPaths.BuildConfiguration,
        };
        try
        {
            var up = await BuildShAsync(["cluster", "up"], scriptEnvironment);
            Assert.True(up.ExitCode == 0, $"./build.sh cluster up exited {up.ExitCode}:\n{up.Output}");
            Assert.Contains("(3 silos)", up.Output, StringComparison.Ordinal);
            var started = Directory.GetFiles(Path.Combine(state, "pids")).Select(file => int.Parse(File.ReadAllText(file).Trim(),
                System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(4, started.Count);
            var postmaster = PostmasterPid(state);
            Assert.True(IsRunning(postmaster), "PostgreSQL is not running after cluster up");

            var api = new Uri($"http://127.0.0.1:{apiPort}/");
            using var http = new HttpClient { BaseAddress = api };
            const string email = "cluster@example.com";
            using (var signUp = await http.PostAsJsonAsync("api/v1/auth/signup", new { email, password = Password }, Cancellation))
            {
                Assert.True(signUp.IsSuccessStatusCode, await signUp.Content.ReadAsStringAsync(Cancellation));
            }

            (await Deck(["login", "--api", api.ToString(), "--email", email, "--password-stdin"], Work, stdin: Password + "\n")).Expect(0);
            var site = Directory.CreateDirectory(Path.Combine(Work, "site")).FullName;
            await File.WriteAllTextAsync(Path.Combine(site, "index.html"), "<h1>served by a cluster</h1>", Cancellation);
            (await Deck(["init", "--api", api.ToString()], site)).Expect(0);
            var deploy = (await Deck(["deploy", "--api", api.ToString()], site)).Expect(0);
            var url = new Uri(deploy.Stdout.Last(line => line.StartsWith("http", StringComparison.Ordinal)).Trim());

            using var request = new HttpRequestMessage(HttpMethod.Get, "/") { Headers = { Host = url.Host } };
            using var served = await http.SendAsync(request, Cancellation);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Equal("<h1>served by a cluster</h1>", await served.Content.ReadAsStringAsync(Cancellation));

            var down = await BuildShAsync(["cluster", "down"], scriptEnvironment);
            Assert.True(down.ExitCode == 0, $"./build.sh cluster down exited {down.ExitCode}:\n{down.Output}");
            Assert.All(started, pid => Assert.False(IsRunning(pid), $"process {pid} still runs after cluster down"));
            Assert.False(IsRunning(postmaster), "PostgreSQL still runs after cluster down");
        }
        finally
        {
            // A failed assertion above must not leave a cluster behind.
            await BuildShAsync(["cluster", "down"], scriptEnvironment);
        }
    }

    private async Task<(int ExitCode, string Output)> BuildShAsync(string[] args, Dictionary<string, string?> environment)
    {
        var script = Track(ChildProcess.Start(Path.Combine(RepoPaths.Root, "build.sh"), args, environment, RepoPaths.Root));
        Assert.True(await script.WaitForExitAsync(ScriptTimeout, Cancellation), $"./build.sh {string.Join(' ', args)} did not finish:\n{script.Output}");
        return (script.ExitCode!.Value, script.Output);
    }

    private static int PostmasterPid(string state)
    {
        var data = File.ReadAllText(Path.Combine(state, "postgres.dir")).Trim();
        return int.Parse(File.ReadLines(Path.Combine(data, "db", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool IsRunning(int pid) =>
        File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2].Equals("Z", StringComparison.Ordinal);
}
