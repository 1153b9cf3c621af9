using System.Text.RegularExpressions;
using CloudDeck.GrainInterfaces;
using CloudDeck.Grains.Docker;
using CloudDeck.Grains.Projects;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// The source fetch of a Docker build: git in a container from the git image (<c>CloudDeck:Docker:Images:git</c>) over
/// the build's source directory, with the same rules as <see cref="SourceFetcher.FetchGitAsync"/>: no shell, no terminal,
/// no project variable, no system or global config, only https and ssh remotes (and file, for allowed local sources, whose
/// directory is then shown read-only at its own path).
/// </summary>
internal static partial class DockerGit
{
    private const string Target = "/build/src";

    public static async Task FetchAsync(DockerBuildExecutor.StepRunner run, string url, string gitRef, bool allowFile, GitHostPolicy hosts,
        CancellationToken cancellationToken)
    {
        if (gitRef.StartsWith('-') || gitRef.Any(char.IsControl) || gitRef.Contains("..", StringComparison.Ordinal))
        {
            throw new InvalidFieldException("git_ref", "is not a valid git ref");
        }

        var image = run.Docker.Options.Images[DockerOptions.GitImage];
        await run.Docker.EnsureImageAsync(image, run.Log.System, cancellationToken);
        var local = Path.IsPathRooted(url);
        // The host is checked here and git in the container is held to the checked addresses, as for a sandboxed fetch.
        var connection = local ? new GitConnection(new Uri(url).AbsoluteUri, []) : await GitConnection.OpenAsync(url, hosts, cancellationToken);
        var remote = connection.Remote;
        var environment = DockerBuildExecutor.ToolchainEnvironment();
        environment["GIT_TERMINAL_PROMPT"] = "0";
        environment["GIT_CONFIG_NOSYSTEM"] = "1";
        environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        List<string> config = ["-c", "protocol.allow=never", "-c", "protocol.https.allow=always", "-c", "protocol.ssh.allow=always", .. connection.Config];
        List<string> uploadPack = [];
        List<string> mounts = [];
        if (allowFile)
        {
            config.AddRange(["-c", "protocol.file.allow=always"]);
            if (local)
            {
                // The repository belongs to the platform's user, not the container's: git's upload-pack would refuse it.
                uploadPack = ["--upload-pack", "git -c 'safe.directory=*' upload-pack"];
                if (Directory.Exists(url)) mounts.Add(Path.GetFullPath(url));
            }
        }

        if (Commit().IsMatch(gitRef))
        {
            run.Log.System($"Fetching commit {gitRef} of {LogMasker.Redact(remote)}");
            await GitAsync(run, image, [.. config, "init", "--quiet", Target], environment, mounts, cancellationToken);
            await GitAsync(run, image, [.. config, "-C", Target, "fetch", "--quiet", "--depth", "1", .. uploadPack, "--", remote, gitRef], environment, mounts, cancellationToken);
            await GitAsync(run, image, [.. config, "-C", Target, "checkout", "--quiet", "FETCH_HEAD"], environment, mounts, cancellationToken);
        }
        else
        {
            run.Log.System($"Cloning {LogMasker.Redact(remote)} (branch {gitRef}, depth 1)");
            await GitAsync(run, image, [.. config, "clone", "--quiet", "--depth", "1", "--branch", gitRef, .. uploadPack, "--", remote, Target], environment, mounts, cancellationToken);
        }
    }

    private static async Task GitAsync(DockerBuildExecutor.StepRunner run, string image, string[] arguments, IReadOnlyDictionary<string, string> environment,
        IReadOnlyList<string> mounts, CancellationToken cancellationToken)
    {
        var exit = await run.RunAsync("git", image, ["git"], arguments, Target, environment, mounts, cancellationToken);
        if (exit != 0) throw new BuildStepFailedException($"git {arguments.First(a => a is "init" or "fetch" or "checkout" or "clone")} exited with code {exit}", (int)exit);
    }

    [GeneratedRegex("^([0-9a-f]{40}|[0-9a-f]{64})$")]
    private static partial Regex Commit();
}
