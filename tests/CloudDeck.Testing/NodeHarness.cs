namespace CloudDeck.Testing;

/// <summary>
/// The node scripts in tests/js (the real SignalR JS client, driven the way the dashboard drives it). Their packages are
/// installed with <c>npm ci</c> from the committed package-lock.json once per lock file's content, into tests/js/node_modules, with
/// npm's download cache under artifacts/ (both ignored by git). Framework-neutral: tests turn <see cref="MissingReason"/>
/// into Skip or Fail.
/// </summary>
public static class NodeHarness
{
    private static readonly Lazy<Task> Install = new(InstallAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string ScriptsDirectory => Path.Combine(RepoPaths.Root, "tests", "js");

    public static string? Node => PostgresTools.FindOnPath("node") ?? PostgresTools.FindOnPath("nodejs");

    public static string? Npm => PostgresTools.FindOnPath("npm");

    /// <summary>npm's download cache for everything the tests install themselves (one cache for the whole run).</summary>
    public static string NpmCache => Path.Combine(RepoPaths.Root, "artifacts", "npm-cache");

    /// <summary>Why the node tests cannot run here, phrased for Skip/Fail; null when node and npm are installed.</summary>
    public static string? MissingReason => Requirement.Check(Node is not null && Npm is not null, "node and npm", "apt-get install nodejs npm");

    /// <summary>Runs <c>npm ci</c> in tests/js the first time it is called in this process; later calls share the result.</summary>
    public static Task EnsureInstalledAsync(CancellationToken cancellationToken = default) => Install.Value.WaitAsync(cancellationToken);

    /// <summary>Runs <c>node &lt;script&gt; args…</c> in tests/js and waits for it to exit.</summary>
    /// <exception cref="TimeoutException">It was still running after <paramref name="timeout"/> (it is killed).</exception>
    public static async Task<NodeRun> RunAsync(string script, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        await EnsureInstalledAsync(cancellationToken).ConfigureAwait(false);
        await using var node = ChildProcess.Start(Node!, [script, .. arguments], workingDirectory: ScriptsDirectory);
        if (!await node.WaitForExitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"node {script} did not finish within {timeout}.\n{node.Output}");
        }

        return new NodeRun(node.ExitCode ?? -1, node.Output);
    }

    private static async Task InstallAsync()
    {
        var npm = Npm ?? throw new InvalidOperationException(MissingReason);
        var cache = NpmCache;
        // A lock file, so that two test processes of one run (or a benchmark) do not install into the same folder at once.
        await using var exclusive = await AcquireLockAsync(Path.Combine(ScriptsDirectory, ".npm-ci.lock")).ConfigureAwait(false);
        // Installed already from this very lock file (by another test process of this run, say): npm ci would empty
        // node_modules under that process's running scripts, so it is not run again.
        var lockHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            await File.ReadAllBytesAsync(Path.Combine(ScriptsDirectory, "package-lock.json")).ConfigureAwait(false)));
        var stamp = Path.Combine(ScriptsDirectory, "node_modules", ".clouddeck-installed");
        if (File.Exists(stamp) && await File.ReadAllTextAsync(stamp).ConfigureAwait(false) == lockHash) return;
        await using var install = ChildProcess.Start(npm, ["ci", "--no-audit", "--no-fund", "--cache", cache],
            new Dictionary<string, string?> { ["NO_UPDATE_NOTIFIER"] = "1" }, ScriptsDirectory);
        if (!await install.WaitForExitAsync(TimeSpan.FromMinutes(5)).ConfigureAwait(false) || install.ExitCode != 0)
        {
            throw new InvalidOperationException($"`npm ci` in {ScriptsDirectory} failed (exit code {install.ExitCode?.ToString() ?? "none: timed out"}).\n{install.Output}");
        }

        await File.WriteAllTextAsync(stamp, lockHash).ConfigureAwait(false);
    }

    private static async Task<FileStream> AcquireLockAsync(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (attempt < 600)
            {
                await Task.Delay(500).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>What a node script printed (stdout and stderr, interleaved) and how it exited.</summary>
public sealed record NodeRun(int ExitCode, string Output);
