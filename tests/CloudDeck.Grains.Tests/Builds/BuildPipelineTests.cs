using System.Security.Cryptography;
using System.Text;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Testing;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// Real builds with real npm: an upload with a package.json is installed and built by the local executor, its output
/// stored and handed to the deployment; failures carry their exit code, secrets never reach the log, and a second
/// build with the same lockfile gets node_modules from the dependency cache.
/// </summary>
public sealed class BuildPipelineTests
{
    internal static async Task<IReadOnlyList<ManifestFile>> UploadAsync(BuildSilo silo, IReadOnlyDictionary<string, string> files,
        IReadOnlyDictionary<string, byte[]>? binary = null)
    {
        var manifest = new List<ManifestFile>();
        foreach (var (path, text) in files) manifest.Add(await silo.UploadAsync(path, Encoding.UTF8.GetBytes(text)));
        foreach (var (path, bytes) in binary ?? new Dictionary<string, byte[]>()) manifest.Add(await silo.UploadAsync(path, bytes));
        return manifest;
    }

    internal static string Package(string buildScript, string? extra = null) =>
        $$"""{"name":"site","version":"1.0.0","private":true,"scripts":{"build":{{System.Text.Json.JsonSerializer.Serialize(buildScript)}}}{{extra}}}""";

    [Fact]
    public async Task An_npm_build_runs_its_script_stores_the_output_and_hands_the_manifest_to_the_deployment()
    {
        Need.Component(Requirement.Check(Tools.Has("npm"), "npm", "apt-get install npm"));
        await using var silo = await BuildSilo.StartAsync();
        // What an earlier process set aside for deletion and never deleted (killed mid-deletion) goes once builds run here.
        var leftover = Directory.CreateDirectory(Path.Combine(silo.WorkDirectory, "b_0123456789abcdef.removed", "node_modules", "x")).FullName;
        await File.WriteAllTextAsync(Path.Combine(leftover, "index.js"), "module.exports = 1", TestContext.Current.CancellationToken);
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings());
        var files = await UploadAsync(silo, new Dictionary<string, string>
        {
            ["package.json"] = Package("node build.js"),
            ["build.js"] = """
                const fs = require('fs');
                fs.mkdirSync('dist/assets', { recursive: true });
                fs.writeFileSync('dist/index.html', '<h1>built in CI=' + process.env.CI + '</h1>');
                fs.writeFileSync('dist/assets/app-3f2a9c1b.js', 'console.log(1)');
                console.log('wrote dist');
                console.error('a warning on stderr');
                """,
            ["clouddeck.json"] = """{"rewrites":[{"source":"/(.*)","destination":"/index.html"}]}""",
        });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        Assert.Equal(deploymentId, queued.DeploymentId);
        var log = await silo.LogUntilEndAsync(queued.Id);

        var done = await build.Get(owner);
        Assert.True(done.Status == BuildStatuses.Succeeded, string.Join("\n", log.Select(l => l.Text)));
        Assert.Equal((0, (string?)null), (done.ExitCode, done.Error));
        Assert.NotNull(done.StartedAt);
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text == "$ npm install");
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text == "$ npm run build");
        Assert.Contains(log, l => l.Stream == BuildLogStreams.Stdout && l.Text == "wrote dist");
        Assert.Contains(log, l => l.Stream == BuildLogStreams.Stderr && l.Text == "a warning on stderr");

        var (status, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal(DeploymentStatuses.Ready, status);
        Assert.NotNull(manifest);
        Assert.Equal(["assets/app-3f2a9c1b.js", "index.html"], manifest.Files.Select(f => f.Path));
        var index = manifest.Files.Single(f => f.Path == "index.html");
        Assert.Equal("<h1>built in CI=1</h1>", silo.ReadStored(index.Sha256));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("<h1>built in CI=1</h1>"))), index.Sha256);
        Assert.Contains("rewrites", manifest.RoutingConfig, StringComparison.Ordinal);
        // The work directory went with the build.
        Assert.False(Directory.Exists(Path.Combine(silo.WorkDirectory, queued.Id)));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Directory.Exists(Path.Combine(silo.WorkDirectory, "b_0123456789abcdef.removed")) && DateTime.UtcNow < deadline) await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(Directory.Exists(Path.Combine(silo.WorkDirectory, "b_0123456789abcdef.removed")), "the set-aside directory of an earlier process is still there");
    }

    [Fact]
    public async Task A_node_server_build_stores_its_root_with_production_dependencies_only_and_names_how_it_starts()
    {
        Need.Component(Requirement.Check(Tools.Has("npm"), "npm", "apt-get install npm"));
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        // The install writes node_modules itself, as its lockfile describes it: no registry needed, and the runtime
        // dependency must reach the artifact while the devDependency is pruned (npm prune --omit=dev, offline).
        await silo.CreateProjectAsync(owner, org, "api", new ProjectSettings(
            InstallCommand: "mkdir -p node_modules/greet node_modules/lint && echo \"module.exports = 'hi'\" > node_modules/greet/index.js"
                + " && echo '{\"name\":\"greet\",\"version\":\"1.0.0\"}' > node_modules/greet/package.json"
                + " && echo '{\"name\":\"lint\",\"version\":\"1.0.0\"}' > node_modules/lint/package.json",
            HealthCheckPath: "/healthz"));
        var files = await UploadAsync(silo, new Dictionary<string, string>
        {
            ["package.json"] = """{"name":"api","version":"1.0.0","private":true,"scripts":{"start":"node server.js"},"dependencies":{"greet":"1.0.0"},"devDependencies":{"lint":"1.0.0"}}""",
            ["package-lock.json"] = """
                {"name":"api","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{
                 "":{"name":"api","version":"1.0.0","dependencies":{"greet":"1.0.0"},"devDependencies":{"lint":"1.0.0"}},
                 "node_modules/greet":{"version":"1.0.0"},"node_modules/lint":{"version":"1.0.0","dev":true}}}
                """,
            ["server.js"] = "require('node:http').createServer((q, s) => s.end(require('greet'))).listen(process.env.PORT);",
        });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "api", new DeploymentSource(Files: files));
        var log = await silo.LogUntilEndAsync(queued.Id);
        Assert.True((await build.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", log.Select(l => l.Text)));
        Assert.Contains(log, l => l.Text == "Server app: starts with `npm start`, health check GET /healthz");
        Assert.Contains(log, l => l.Text == "$ npm prune --omit=dev --no-audit --no-fund");

        var (status, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal(DeploymentStatuses.Ready, status);
        Assert.Equal(new GrainInterfaces.Servers.ServerSpec("npm start", "/healthz", Framework: "node"), manifest?.Server);
        Assert.Equal(["node_modules/.package-lock.json", "node_modules/greet/index.js", "node_modules/greet/package.json", "package-lock.json", "package.json", "server.js"],
            manifest!.Files.Select(f => f.Path));
    }

    [Fact]
    public async Task A_failing_build_ends_failed_with_its_exit_code_in_the_log_and_tells_the_deployment()
    {
        Need.Component(Requirement.Check(Tools.Has("npm"), "npm", "apt-get install npm"));
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings(InstallCommand: "true"));
        var files = await UploadAsync(silo, new Dictionary<string, string> { ["package.json"] = Package("echo compiling; exit 3") });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        var log = await silo.LogUntilEndAsync(queued.Id);

        var done = await build.Get(owner);
        Assert.Equal(BuildStatuses.Failed, done.Status);
        Assert.Equal(3, done.ExitCode);
        Assert.Contains("exited with code 3", done.Error, StringComparison.Ordinal);
        Assert.Contains(log, l => l.Stream == BuildLogStreams.Stdout && l.Text == "compiling");
        Assert.Contains(log, l => l.Stream == BuildLogStreams.System && l.Text == "The build command exited with code 3");
        var (status, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal((DeploymentStatuses.Failed, (DeploymentManifest?)null), (status, manifest));
    }

    [Fact]
    public async Task Secret_values_and_url_credentials_printed_by_the_build_are_stored_as_stars()
    {
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        const string secret = "s3cr3t-Value-9f8e7d";
        await silo.CreateProjectAsync(owner, org, "web",
            new ProjectSettings(Framework: "other", BuildCommand: "echo \"token=$API_TOKEN\"; echo \"$API_TOKEN\" >&2; echo https://deploy:hunter22@git.example.com/acme/web.git; mkdir -p out; echo ok > out/index.html", OutputDirectory: "out"),
            new Dictionary<string, string> { ["API_TOKEN"] = secret });
        var files = await UploadAsync(silo, new Dictionary<string, string> { ["README.md"] = "hello" });

        var (build, _, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
        await silo.LogUntilEndAsync(queued.Id);
        Assert.Equal(BuildStatuses.Succeeded, (await build.Get(owner)).Status);

        var stored = await silo.StoredLogAsync(queued.Id);
        Assert.DoesNotContain(stored, l => l.Text.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(stored, l => l.Text.Contains("hunter22", StringComparison.Ordinal));
        Assert.Contains(stored, l => l.Stream == BuildLogStreams.Stdout && l.Text == "token=***");
        Assert.Contains(stored, l => l.Stream == BuildLogStreams.Stderr && l.Text == "***");
        Assert.Contains(stored, l => l.Text == "https://***@git.example.com/acme/web.git");
    }

    [Fact]
    public async Task A_build_cannot_deploy_files_outside_its_work_directory_through_symbolic_links()
    {
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var outside = Path.Combine(silo.Directory, "outside.txt");
        await File.WriteAllTextAsync(outside, "server file", TestContext.Current.CancellationToken);
        await silo.CreateProjectAsync(owner, org, "linked", new ProjectSettings(Framework: "other", BuildCommand: $"ln -s '{silo.Directory}' out", OutputDirectory: "out"));
        await silo.CreateProjectAsync(owner, org, "inner", new ProjectSettings(Framework: "other",
            BuildCommand: $"mkdir -p out && echo ok > out/index.html && ln -s '{outside}' out/secret.txt", OutputDirectory: "out"));
        var files = await UploadAsync(silo, new Dictionary<string, string> { ["README.md"] = "hello" });

        var (linked, _, linkedQueued) = await silo.QueueAsync(owner, org, "linked", new DeploymentSource(Files: files));
        await silo.LogUntilEndAsync(linkedQueued.Id);
        var refused = await linked.Get(owner);
        Assert.Equal(BuildStatuses.Failed, refused.Status);
        Assert.Contains("output_directory", refused.Error, StringComparison.Ordinal);

        var (inner, deploymentId, innerQueued) = await silo.QueueAsync(owner, org, "inner", new DeploymentSource(Files: files));
        var log = await silo.LogUntilEndAsync(innerQueued.Id);
        Assert.Equal(BuildStatuses.Succeeded, (await inner.Get(owner)).Status);
        Assert.Equal(["index.html"], (await silo.DeploymentResultAsync(owner, deploymentId)).Manifest!.Files.Select(f => f.Path));
        Assert.Contains(log, l => l.Text.StartsWith("Skipped 1 symbolic link(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_server_build_keeps_its_bin_links_and_fails_naming_a_link_that_leaves_its_output()
    {
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        // A package's CLI as npm lays it out: an executable script, and a relative link to it in node_modules/.bin.
        const string Bin = "mkdir -p node_modules/tool/bin node_modules/.bin && cp tool.sh node_modules/tool/bin/tool.sh"
            + " && chmod +x node_modules/tool/bin/tool.sh && ln -s ../tool/bin/tool.sh node_modules/.bin/tool";
        // The start command comes from the project's clouddeck.json, over its settings (which set none).
        await silo.CreateProjectAsync(owner, org, "good", new ProjectSettings(Framework: "other", BuildCommand: Bin));
        await silo.CreateProjectAsync(owner, org, "evil", new ProjectSettings(Framework: "other",
            BuildCommand: Bin + " && ln -s ../../../../../etc/passwd node_modules/.bin/passwd", StartCommand: "node_modules/.bin/tool"));
        var files = await UploadAsync(silo, new Dictionary<string, string>
        {
            ["tool.sh"] = "#!/bin/sh\nexec node -e \"require('node:http').createServer((q, s) => s.end('tool')).listen(process.env.PORT)\"\n",
            ["clouddeck.json"] = """{ "startCommand": "node_modules/.bin/tool", "healthCheckPath": "/" }""",
        });

        var (good, goodId, goodQueued) = await silo.QueueAsync(owner, org, "good", new DeploymentSource(Files: files));
        var goodLog = await silo.LogUntilEndAsync(goodQueued.Id);
        Assert.True((await good.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", goodLog.Select(l => l.Text)));
        Assert.Contains(goodLog, l => l.Text == "clouddeck.json sets startCommand, healthCheckPath (over the project's settings)");
        // Ready means its server, started through the link, passed its health check.
        var (status, manifest) = await silo.DeploymentResultAsync(owner, goodId);
        Assert.Equal(DeploymentStatuses.Ready, status);
        Assert.Equal([new ManifestLink("node_modules/.bin/tool", "../tool/bin/tool.sh")], manifest!.Links);
        Assert.Equal(["node_modules/tool/bin/tool.sh"], manifest.Executables);

        var (evil, _, evilQueued) = await silo.QueueAsync(owner, org, "evil", new DeploymentSource(Files: files));
        await silo.LogUntilEndAsync(evilQueued.Id);
        var refused = await evil.Get(owner);
        Assert.Equal(BuildStatuses.Failed, refused.Status);
        Assert.Contains("link 'node_modules/.bin/passwd'", refused.Error, StringComparison.Ordinal);
        Assert.Contains("points outside the deployment", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_build_with_the_same_lockfile_restores_node_modules_from_the_cache_instead_of_installing()
    {
        Need.Component(Requirement.Check(Tools.Has("npm"), "npm", "apt-get install npm"));
        await using var silo = await BuildSilo.StartAsync();
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings());
        var (text, tarball) = await PackageWithDependencyAsync(silo.Directory);
        var files = await UploadAsync(silo, text, tarball);

        var results = new List<IReadOnlyList<BuildLogLine>>();
        foreach (var round in new[] { 1, 2 })
        {
            var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(Files: files));
            var log = await silo.LogUntilEndAsync(queued.Id);
            Assert.True((await build.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", log.Select(l => l.Text)));
            var (_, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
            // The build used the dependency either way: it copied the dependency's text into the output.
            Assert.Equal("from the left-pad-ish dependency", silo.ReadStored(manifest!.Files.Single(f => f.Path == "index.html").Sha256));
            results.Add(log);
        }

        Assert.Contains(results[0], l => l.Text == "$ npm install --no-audit --no-fund");
        Assert.Contains(results[0], l => l.Text.StartsWith("Saving node_modules to the dependency cache", StringComparison.Ordinal));
        Assert.Contains(results[0], l => l.Text == "INSTALL SCRIPT RAN");
        Assert.Contains(results[1], l => l.Text.StartsWith("Restored node_modules from the dependency cache", StringComparison.Ordinal));
        Assert.DoesNotContain(results[1], l => l.Text == "$ npm install --no-audit --no-fund" || l.Text == "INSTALL SCRIPT RAN");
    }

    /// <summary>
    /// A package.json depending on a local tarball (made with npm pack, so no registry is needed) with its
    /// package-lock.json from a real npm install, and a postinstall script that says when an install ran.
    /// </summary>
    private static async Task<(Dictionary<string, string> Text, Dictionary<string, byte[]> Binary)> PackageWithDependencyAsync(string directory)
    {
        var dependency = Directory.CreateDirectory(Path.Combine(directory, "fixture-dep")).FullName;
        await File.WriteAllTextAsync(Path.Combine(dependency, "package.json"), """{"name":"padding","version":"1.0.0","main":"index.js"}""");
        await File.WriteAllTextAsync(Path.Combine(dependency, "index.js"), "module.exports = 'from the left-pad-ish dependency';\n");
        var app = Directory.CreateDirectory(Path.Combine(directory, "fixture-app")).FullName;
        await Tools.RunAsync("npm", ["pack", "--silent", "--pack-destination", app], dependency);
        var tarball = Path.GetFileName(Directory.GetFiles(app, "*.tgz").Single());
        var package = $$$"""
            {"name":"site","version":"1.0.0","private":true,
             "scripts":{"postinstall":"echo INSTALL SCRIPT RAN","build":"node build.js"},
             "dependencies":{"padding":"file:{{{tarball}}}"}}
            """;
        await File.WriteAllTextAsync(Path.Combine(app, "package.json"), package);
        await Tools.RunAsync("npm", ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund"], app);
        var text = new Dictionary<string, string>
        {
            ["package.json"] = package,
            ["package-lock.json"] = await File.ReadAllTextAsync(Path.Combine(app, "package-lock.json")),
            ["build.js"] = "require('fs').mkdirSync('dist', { recursive: true }); require('fs').writeFileSync('dist/index.html', require('padding'));\n",
        };
        return (text, new Dictionary<string, byte[]> { [tarball] = await File.ReadAllBytesAsync(Path.Combine(app, tarball)) });
    }
}
