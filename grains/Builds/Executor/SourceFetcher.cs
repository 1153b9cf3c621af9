using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Projects;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>Puts a build's source into its work directory: a shallow git clone, or an upload's files from the artifact store.</summary>
public static partial class SourceFetcher
{
    /// <summary>
    /// <c>git clone --depth 1 --branch ref</c>, or for a full commit id (SHA-1 or SHA-256) an init + <c>fetch --depth 1</c> of that commit,
    /// into the existing empty <paramref name="destination"/>. Git runs without a shell (refs and URLs are arguments, never
    /// shell text), without a terminal (a repository that wants a password fails instead of waiting forever), in
    /// <paramref name="sandbox"/> when given, and with an environment and configuration of its own: no project variable
    /// reaches it (GIT_CONFIG_*, GIT_SSH_COMMAND, GIT_EXEC_PATH would steer it), no system or global config is read, and
    /// only https and ssh remotes are allowed (and file, for local sources, when <paramref name="allowFile"/>). A remote's
    /// host is checked against <paramref name="hosts"/> now, and git connects to the addresses checked (<see cref="GitConnection"/>).
    /// </summary>
    public static async Task FetchGitAsync(string url, string gitRef, string destination, IReadOnlyDictionary<string, string> environment,
        bool allowFile, GitHostPolicy hosts, BuildLogWriter log, CancellationToken cancellationToken, Sandbox.SandboxSession? sandbox = null)
    {
        if (gitRef.StartsWith('-') || gitRef.Any(char.IsControl) || gitRef.Contains("..", StringComparison.Ordinal))
        {
            throw new InvalidFieldException("git_ref", "is not a valid git ref");
        }

        // Local paths become file:// URLs: git ignores --depth for a plain path and would copy the whole history.
        var local = Path.IsPathRooted(url);
        var shown = LogMasker.Redact(local ? new Uri(url).AbsoluteUri : url);
        var byCommit = Commit().IsMatch(gitRef);
        log.System(byCommit ? $"Fetching commit {gitRef} of {shown}" : $"Cloning {shown} (branch {gitRef}, depth 1)");
        var connection = local ? new GitConnection(new Uri(url).AbsoluteUri, []) : await GitConnection.OpenAsync(url, hosts, cancellationToken);
        var remote = connection.Remote;
        var env = new Dictionary<string, string>(environment)
        {
            ["GIT_TERMINAL_PROMPT"] = "0", ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null",
        };
        Directory.CreateDirectory(destination);
        var target = sandbox?.Inside(destination) ?? destination;
        List<string> config = ["-c", "protocol.allow=never", "-c", "protocol.https.allow=always", "-c", "protocol.ssh.allow=always", .. connection.Config];
        List<string> uploadPack = [];
        if (allowFile)
        {
            config.AddRange(["-c", "protocol.file.allow=always"]);
            // A local repository belongs to another user than the sandbox's, and git's upload-pack refuses such a
            // repository ("dubious ownership"); -c does not reach it (git clears config variables for local transports).
            if (local) uploadPack = ["--upload-pack", "git -c 'safe.directory=*' upload-pack"];
        }
        if (byCommit)
        {
            await GitAsync([.. config, "init", "--quiet", target], destination, env, log, cancellationToken, sandbox);
            await GitAsync([.. config, "-C", target, "fetch", "--quiet", "--depth", "1", .. uploadPack, "--", remote, gitRef], destination, env, log, cancellationToken, sandbox);
            await GitAsync([.. config, "-C", target, "checkout", "--quiet", "FETCH_HEAD"], destination, env, log, cancellationToken, sandbox);
        }
        else
        {
            await GitAsync([.. config, "clone", "--quiet", "--depth", "1", "--branch", gitRef, .. uploadPack, "--", remote, target], destination, env, log, cancellationToken, sandbox);
        }
    }

    private static async Task GitAsync(string[] arguments, string directory, IReadOnlyDictionary<string, string> environment,
        BuildLogWriter log, CancellationToken cancellationToken, Sandbox.SandboxSession? sandbox)
    {
        var exit = await CommandRunner.RunAsync("git", arguments, directory, environment, Processes.ProcessLimits.None, log, cancellationToken, sandbox);
        if (exit != 0) throw new BuildStepFailedException($"git {arguments.First(a => a is "init" or "fetch" or "checkout" or "clone")} exited with code {exit}", exit);
    }

    /// <summary>
    /// Places every file of the upload under <paramref name="destination"/>: a hard link to the stored file when
    /// <paramref name="link"/> (nothing will run that could change it in place) and the file system allows it, else a copy.
    /// </summary>
    public static void PlaceUpload(IReadOnlyList<ManifestFile> files, IArtifactStore store, string destination, bool link)
    {
        Directory.CreateDirectory(destination);
        for (var i = 0; i < files.Count; i++)
        {
            var file = files[i];
            var target = PathInside(destination, file.Path, $"files[{i}].path");
            if (!store.Contains(file.Sha256)) throw new InvalidFieldException($"files[{i}].sha256", $"'{file.Sha256}' is not uploaded");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (File.Exists(target)) throw new InvalidFieldException($"files[{i}].path", "appears twice");
            var stored = store.PathOf(file.Sha256);
            if (!link || SysLink(stored, target) != 0) File.Copy(stored, target);
        }
    }

    /// <summary>The full path of <paramref name="relative"/> under <paramref name="root"/>; anything that would leave it is refused.</summary>
    public static string PathInside(string root, string relative, string field)
    {
        if (relative.Length == 0 || relative.Contains('\\') || relative.Any(char.IsControl) || Path.IsPathRooted(relative)
            || relative.Split('/').Any(segment => segment is ".."))
        {
            throw new InvalidFieldException(field, "must be a relative path without '..' segments");
        }

        var full = Path.GetFullPath(Path.Combine(root, relative));
        var prefix = Path.GetFullPath(root).TrimEnd('/') + "/";
        if (full != prefix.TrimEnd('/') && !full.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new InvalidFieldException(field, "must stay inside the project");
        }

        return full;
    }

    /// <summary>
    /// Refuses a directory reached through a symbolic link below <paramref name="root"/>: the path is checked as text,
    /// and a repository may contain <c>dist → /</c>, which would deploy the server's files.
    /// </summary>
    public static void EnsureNoLinks(string root, string directory, string field)
    {
        var stop = Path.GetFullPath(root).TrimEnd('/');
        for (var current = Path.GetFullPath(directory).TrimEnd('/'); current.Length > stop.Length; current = Path.GetDirectoryName(current)!)
        {
            if (new DirectoryInfo(current).LinkTarget is not null)
            {
                throw new InvalidFieldException(field, "must not be (or lie under) a symbolic link");
            }
        }
    }

    [GeneratedRegex("^([0-9a-f]{40}|[0-9a-f]{64})$")]
    private static partial Regex Commit();

    [DllImport("libc", EntryPoint = "link", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SysLink(string existing, string created);
}

/// <summary>A step of the build failed in the build's own terms (a command's exit code, a missing output directory).</summary>
public sealed class BuildStepFailedException(string message, int? exitCode = null) : Exception(message)
{
    public int? ExitCode { get; } = exitCode;
}
