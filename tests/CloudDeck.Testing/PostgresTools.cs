using System.Diagnostics;
using System.Globalization;

namespace CloudDeck.Testing;

/// <summary>Finding PostgreSQL's binaries, running them as the right user, and cleaning up after crashed runs.</summary>
internal static class PostgresTools
{
    public const string DirectoryPrefix = "clouddeck-pg-";
    public const string OwnerFile = "owner.pid";

    // Debian installs the server only under /usr/lib/postgresql/<ver>/bin, off PATH.
    private const string DebianRoot = "/usr/lib/postgresql";

    public static string? FindBinDirectory()
    {
        var explicitDir = Environment.GetEnvironmentVariable("PG_BIN");
        // An explicit PG_BIN that is wrong should be reported, not silently replaced by another install.
        if (!string.IsNullOrWhiteSpace(explicitDir)) return HasServer(explicitDir) ? Path.GetFullPath(explicitDir) : null;

        // pg_config from libpq-dev alone answers /usr/bin, which has no initdb: hence HasServer on each.
        if (PgConfigBinDir() is { } fromPgConfig && HasServer(fromPgConfig)) return fromPgConfig;

        if (Directory.Exists(DebianRoot))
        {
            var newest = Directory.GetDirectories(DebianRoot)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: ParseVersion(Path.GetFileName(d))))
                .Where(c => c.Version is not null && HasServer(c.Dir))
                .OrderByDescending(c => c.Version)
                .Select(c => c.Dir)
                .FirstOrDefault();
            if (newest is not null) return newest;
        }

        if (FindOnPath("initdb") is { } initdb)
        {
            // A symlink in /usr/local/bin has no `postgres` beside it; its target's directory does.
            var real = File.ResolveLinkTarget(initdb, returnFinalTarget: true)?.FullName ?? initdb;
            var dir = Path.GetDirectoryName(real);
            if (dir is not null && HasServer(dir)) return dir;
        }
        return null;
    }

    public static string DescribeMissing()
    {
        var pgBin = Environment.GetEnvironmentVariable("PG_BIN");
        var where = string.IsNullOrWhiteSpace(pgBin)
            ? $"looked at `pg_config --bindir`, {DebianRoot}/*/bin and PATH"
            : $"PG_BIN={pgBin} does not contain initdb, pg_ctl and postgres";
        return $"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found ({where}). "
            + "Install them with `apt-get install postgresql`, or set PG_BIN to the directory holding initdb.";
    }

    public static string? FindOnPath(string name)
    {
        // sbin too: runuser lives there and a non-login root shell may not have it on PATH.
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]);
        return dirs.Where(d => d.Length > 0).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// PostgreSQL refuses to run as root, so as root every server command goes through the
    /// postgres OS user (which Debian's postgresql package creates).
    /// </summary>
    public static (string File, List<string> Args) AsServerUser(string exe, IEnumerable<string> args)
    {
        if (!Native.IsRoot) return (exe, [.. args]);
        if (FindOnPath("runuser") is { } runuser) return (runuser, ["-u", "postgres", "--", exe, .. args]);
        var command = string.Join(' ', new[] { exe }.Concat(args).Select(ShellQuote));
        return ("su", ["postgres", "-s", "/bin/sh", "-c", command]);
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(
        string file, IEnumerable<string> args, string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await using var process = ChildProcess.Start(file, args, workingDirectory: workingDirectory);
        if (!await process.WaitForExitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}.\n{process.Output}");
        }
        return (process.ExitCode ?? -1, process.Output);
    }

    public static bool PostgresUserExists()
    {
        try
        {
            return File.ReadLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal))
                || RunQuiet("id", "-u", "postgres") is not null;
        }
        catch (IOException)
        {
            return RunQuiet("id", "-u", "postgres") is not null;
        }
    }

    /// <summary>
    /// Stops the postmaster of a data directory by pid, but only after /proc confirms that pid is a
    /// postgres serving exactly this directory: a pid file that survived a reboot may name anyone.
    /// </summary>
    public static void KillPostmaster(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile)) return;
        try
        {
            var first = File.ReadLines(pidFile).FirstOrDefault();
            if (!int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0) return;
            var cmdline = Path.Combine("/proc", pid.ToString(CultureInfo.InvariantCulture), "cmdline");
            if (!File.Exists(cmdline) || !File.ReadAllText(cmdline).Replace('\0', ' ').Contains(dataDirectory, StringComparison.Ordinal)) return;

            // SIGQUIT is what `pg_ctl -m immediate` sends; SIGKILL if that is ignored.
            Native.Kill(pid, (int)Signal.SIGQUIT);
            var deadline = Stopwatch.StartNew();
            while (Native.ProcessExists(pid) && deadline.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(50);
            if (Native.ProcessExists(pid)) Native.Kill(pid, (int)Signal.SIGKILL);
        }
        catch (IOException)
        {
            // The server removed its pid file while we read it: it is stopping by itself.
        }
    }

    public static void DeleteDirectory(string path)
    {
        for (var attempt = 0; attempt < 5 && Directory.Exists(path); attempt++)
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Backends may still be unlinking files after an immediate stop.
                Thread.Sleep(200);
            }
        }
    }

    /// <summary>
    /// Servers from test runs that were killed (CI timeout, blame-hang, Ctrl-C) outlive them:
    /// pg_ctl detaches the postmaster. Reap the ones whose owning test process is gone.
    /// </summary>
    public static void SweepStale(string tempRoot)
    {
        try
        {
            foreach (var dir in Directory.GetDirectories(tempRoot, DirectoryPrefix + "*"))
            {
                var ownerFile = Path.Combine(dir, OwnerFile);
                var stale = File.Exists(ownerFile)
                    ? int.TryParse(File.ReadAllText(ownerFile).Trim(), CultureInfo.InvariantCulture, out var owner) && !Native.ProcessExists(owner)
                    // No owner file yet: either being created right now, or a run that died very early.
                    : DateTime.UtcNow - Directory.GetCreationTimeUtc(dir) > TimeSpan.FromMinutes(30);
                if (!stale) continue;
                KillPostmaster(Path.Combine(dir, "data"));
                DeleteDirectory(dir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort only: a leftover must never stop a fresh server from starting.
        }
    }

    private static bool HasServer(string dir) =>
        File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")) && File.Exists(Path.Combine(dir, "postgres"));

    private static Version? ParseVersion(string name) =>
        Version.TryParse(name.Contains('.', StringComparison.Ordinal) ? name : name + ".0", out var v) ? v : null;

    private static string? PgConfigBinDir() => FindOnPath("pg_config") is { } pgConfig ? RunQuiet(pgConfig, "--bindir") : null;

    /// <summary>Runs a tiny command synchronously; null unless it exits 0 within 5 seconds.</summary>
    private static string? RunQuiet(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var p = Process.Start(info)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(5000))
            {
                p.Kill();
                return null;
            }
            return p.ExitCode == 0 ? stdout.Result.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string ShellQuote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
