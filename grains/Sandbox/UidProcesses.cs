using System.Globalization;
using System.Runtime.InteropServices;

namespace CloudDeck.Grains.Sandbox;

/// <summary>The processes running as one sandbox uid, as /proc shows them to the platform: counted and killed.</summary>
internal static class UidProcesses
{
    private const int SigKill = 9;

    /// <summary>
    /// Pids whose real uid is <paramref name="uid"/>, with their thread counts; zombies (dead, not yet reaped: no signal
    /// reaches them) only when <paramref name="withZombies"/>.
    /// </summary>
    public static List<(int Pid, int Threads)> Of(int uid, bool withZombies = true)
    {
        var found = new List<(int, int)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            string status;
            try
            {
                status = File.ReadAllText(Path.Combine(directory, "status"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            int? realUid = null;
            var threads = 1;
            var zombie = false;
            foreach (var line in status.AsSpan().EnumerateLines())
            {
                if (line.StartsWith("State:"))
                {
                    zombie = line[6..].TrimStart().StartsWith("Z");
                }
                else if (line.StartsWith("Uid:"))
                {
                    var fields = line[4..].Trim();
                    var end = fields.IndexOfAny(' ', '\t');
                    realUid = int.Parse(end < 0 ? fields : fields[..end], CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("Threads:"))
                {
                    threads = int.Parse(line[8..].Trim(), CultureInfo.InvariantCulture);
                }
            }

            if (realUid == uid && (withZombies || !zombie)) found.Add((pid, threads));
        }

        return found;
    }

    /// <summary>Tasks (processes and threads: what RLIMIT_NPROC counts) running as <paramref name="uid"/>.</summary>
    public static int Tasks(int uid) => Of(uid).Sum(p => p.Threads);

    /// <summary>
    /// SIGKILL to every process of <paramref name="uid"/>, in passes until none is left alive (a fork bomb forks while we
    /// sweep). Zombies are passed over: they are already dead, and counting them kept every sweep going for all its passes
    /// (30 ms after each build command).
    /// </summary>
    public static int KillAll(int uid)
    {
        var killed = 0;
        for (var pass = 0; pass < 20; pass++)
        {
            var found = Of(uid, withZombies: false);
            if (found.Count == 0) break;
            foreach (var (pid, _) in found)
            {
                if (SysKill(pid, SigKill) == 0) killed++;
            }
        }

        return killed;
    }

    /// <summary>
    /// SIGTERM to every process of <paramref name="uid"/> but bubblewrap's own (which would answer it by dying, and take
    /// the sandbox down with SIGKILL before the app could finish): the app's "please stop".
    /// </summary>
    public static void TerminateAll(int uid)
    {
        foreach (var (pid, _) in Of(uid, withZombies: false))
        {
            string command;
            try
            {
                command = File.ReadAllText($"/proc/{pid}/comm").Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (command != "bwrap") _ = SysKill(pid, SigTerm);
        }
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    [DllImport("libc", EntryPoint = "geteuid")]
    public static extern uint EffectiveUid();
}
