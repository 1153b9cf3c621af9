using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Testing;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>Git sources: a real repository made with the git CLI, cloned shallow at a branch or fetched at a commit.</summary>
public sealed class GitSourceTests
{
    private static readonly Dictionary<string, string> Identity = new()
    {
        ["GIT_AUTHOR_NAME"] = "Test", ["GIT_AUTHOR_EMAIL"] = "test@example.com",
        ["GIT_COMMITTER_NAME"] = "Test", ["GIT_COMMITTER_EMAIL"] = "test@example.com",
    };

    [Fact]
    public async Task A_branch_is_cloned_shallow_and_a_commit_is_fetched_by_id()
    {
        Need.Component(Requirement.Check(Tools.Has("git"), "git", "apt-get install git"));
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Builds:KeepWorkDirectories"] = "true" });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var repository = Directory.CreateDirectory(Path.Combine(silo.Directory, "repo")).FullName;
        await GitAsync(repository, "init", "--quiet", "--initial-branch", "main");
        await File.WriteAllTextAsync(Path.Combine(repository, "index.html"), "main v1", TestContext.Current.CancellationToken);
        await GitAsync(repository, "add", ".");
        await GitAsync(repository, "commit", "--quiet", "-m", "v1");
        var firstCommit = (await GitAsync(repository, "rev-parse", "HEAD")).Trim();
        await GitAsync(repository, "checkout", "--quiet", "-b", "feature");
        foreach (var version in new[] { "feature v2", "feature v3" })
        {
            await File.WriteAllTextAsync(Path.Combine(repository, "index.html"), version, TestContext.Current.CancellationToken);
            await GitAsync(repository, "commit", "--quiet", "-am", version);
        }

        await GitAsync(repository, "checkout", "--quiet", "main");
        await silo.CreateProjectAsync(owner, org, "web", new ProjectSettings(LocalPath: repository));

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(GitRef: "feature"));
        var log = await silo.LogUntilEndAsync(queued.Id);
        Assert.True((await build.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", log.Select(l => l.Text)));
        Assert.Contains(log, l => l.Text.StartsWith("Cloning file://", StringComparison.Ordinal) && l.Text.Contains("(branch feature, depth 1)", StringComparison.Ordinal));
        var (_, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal("feature v3", silo.ReadStored(manifest!.Files.Single(f => f.Path == "index.html").Sha256));
        Assert.DoesNotContain(manifest.Files, f => f.Path.StartsWith(".git", StringComparison.Ordinal));
        // Shallow: the clone holds the branch's last commit only.
        var source = Path.Combine(silo.WorkDirectory, queued.Id, "src");
        // The clone belongs to the build's sandbox uid, not to this test's user.
        Assert.Equal("1", (await GitAsync(source, "-c", "safe.directory=*", "rev-list", "--count", "HEAD")).Trim());

        var (byCommit, commitDeployment, commitQueued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(GitRef: firstCommit));
        var commitLog = await silo.LogUntilEndAsync(commitQueued.Id);
        Assert.True((await byCommit.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", commitLog.Select(l => l.Text)));
        var (_, commitManifest) = await silo.DeploymentResultAsync(owner, commitDeployment);
        Assert.Equal("main v1", silo.ReadStored(commitManifest!.Files.Single(f => f.Path == "index.html").Sha256));

        // A branch that does not exist fails the build with git's exit code.
        var (missing, _, missingQueued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(GitRef: "no-such-branch"));
        await silo.LogUntilEndAsync(missingQueued.Id);
        var failed = await missing.Get(owner);
        Assert.Equal(BuildStatuses.Failed, failed.Status);
        Assert.Contains("git clone exited with code", failed.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sandbox")]
    [InlineData("none")]
    public async Task Project_variables_that_try_to_redirect_or_extend_git_change_nothing_about_the_fetch_and_reach_only_the_build_command(string isolation)
    {
        Need.Component(Requirement.Check(Tools.Has("git"), "git", "apt-get install git"));
        await using var silo = await BuildSilo.StartAsync(new Dictionary<string, string?> { ["CloudDeck:Builds:Isolation"] = isolation });
        var (owner, org) = await silo.SignUpAsync("olive@example.com");
        var real = await RepositoryAsync(silo, "real", "the real repository");
        var decoy = await RepositoryAsync(silo, "decoy", "the decoy");
        var pwned = Path.Combine(silo.Directory, "pwned");
        await silo.CreateProjectAsync(owner, org, "web",
            new ProjectSettings(LocalPath: real, Framework: "other", BuildCommand: "[ \"$GIT_EXEC_PATH\" = /nonexistent/git-core ] && echo project variables reach the build command", OutputDirectory: "."),
            new Dictionary<string, string>
            {
                // url.<decoy>.insteadOf <real>: a fetch of the real repository would get the decoy.
                ["GIT_CONFIG_COUNT"] = "3",
                ["GIT_CONFIG_KEY_0"] = $"url.{new Uri(decoy).AbsoluteUri}.insteadOf",
                ["GIT_CONFIG_VALUE_0"] = new Uri(real).AbsoluteUri,
                ["GIT_CONFIG_KEY_1"] = "protocol.ext.allow",
                ["GIT_CONFIG_VALUE_1"] = "always",
                ["GIT_CONFIG_KEY_2"] = "core.sshCommand",
                ["GIT_CONFIG_VALUE_2"] = $"touch {pwned}",
                ["GIT_SSH_COMMAND"] = $"touch {pwned}",
                ["GIT_EXEC_PATH"] = "/nonexistent/git-core",
                ["GIT_DIR"] = "/nonexistent/.git",
            });

        var (build, deploymentId, queued) = await silo.QueueAsync(owner, org, "web", new DeploymentSource(GitRef: "main"));
        var log = await silo.LogUntilEndAsync(queued.Id);
        Assert.True((await build.Get(owner)).Status == BuildStatuses.Succeeded, string.Join("\n", log.Select(l => l.Text)));
        var (_, manifest) = await silo.DeploymentResultAsync(owner, deploymentId);
        Assert.Equal("the real repository", silo.ReadStored(manifest!.Files.Single(f => f.Path == "index.html").Sha256));
        Assert.False(File.Exists(pwned), "a project variable ran a command through git");
        // The build command does get the project's variables (they are the project's to use; the log masks their values).
        Assert.Contains(log, l => l.Text == "project variables reach the build command");
    }

    private static async Task<string> RepositoryAsync(BuildSilo silo, string name, string content)
    {
        var repository = Directory.CreateDirectory(Path.Combine(silo.Directory, name)).FullName;
        await GitAsync(repository, "init", "--quiet", "--initial-branch", "main");
        await File.WriteAllTextAsync(Path.Combine(repository, "index.html"), content, TestContext.Current.CancellationToken);
        await GitAsync(repository, "add", ".");
        await GitAsync(repository, "commit", "--quiet", "-m", name);
        return repository;
    }

    private static Task<string> GitAsync(string directory, params string[] arguments) => Tools.RunAsync("git", arguments, directory, Identity);
}
