using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// Killing a build's processes, all of them. Each command starts as the leader of its own session and process group
/// (<c>setsid</c>), so one signal to the group reaches every process the command forked, even those whose parent already
/// exited; <see cref="Process.Kill(bool)"/> also follows parent links into any group a child made for itself; and every
/// build process carries <see cref="MarkerVariable"/> in its environment, so a sweep of /proc finds what escaped both.
/// </summary>
public static class ProcessTree
{
    /// <summary>Set to the build id in every process of a build.</summary>
    public const string MarkerVariable = "CLOUDDECK_BUILD_ID";

    private const int SigKill = 9;
    private const int SigTerm = 15;

    private static readonly string? Setsid = new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists);

    /// <summary>
    /// A start info for <paramref name="fileName"/> with <paramref name="arguments"/> in a session of its own when
    /// <c>setsid</c> is installed (util-linux; without it only the tree walk and the /proc sweep remain).
    /// </summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Setsid ?? fileName);
        if (Setsid is not null) info.ArgumentList.Add(fileName);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        return info;
    }

    /// <summary>
    /// <see cref="StartInfo(string, IEnumerable{string})"/> for a child CloudDeck supervises: run in
    /// <paramref name="directory"/> with exactly <paramref name="environment"/> (nothing of the silo's own), stdin
    /// open and stdout/stderr redirected as UTF-8 so every line can be logged.
    /// </summary>
    public static ProcessStartInfo SupervisedStartInfo(string fileName, IEnumerable<string> arguments, string directory,
        IEnumerable<KeyValuePair<string, string>> environment)
    {
        var info = StartInfo(fileName, arguments);
        info.WorkingDirectory = directory;
        info.UseShellExecute = false;
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.StandardOutputEncoding = System.Text.Encoding.UTF8;
        info.StandardErrorEncoding = System.Text.Encoding.UTF8;
        info.Environment.Clear();
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return info;
    }

    /// <summary>SIGKILL to the process, its descendants and its process group. Never throws.</summary>
    public static void Kill(Process process)
    {
        int pid;
        try
        {
            pid = process.Id;
        }
        catch (InvalidOperationException)
        {
            return;
        }

        // The walk first: once parents die, children of other groups are re-parented and no walk finds them.
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
        }

        KillGroup(pid);
    }

    /// <summary>SIGKILL to the process group <paramref name="process"/> leads, if it was started at all. Never throws.</summary>
    public static void KillGroup(Process process)
    {
        try
        {
            KillGroup(process.Id);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>SIGKILL to the process group led by <paramref name="leader"/> (a setsid-started command's pid).</summary>
    public static void KillGroup(int leader)
    {
        if (Setsid is not null && leader > 0 && !OperatingSystem.IsWindows()) _ = SysKill(-leader, SigKill);
    }

    /// <summary>SIGTERM to the process group led by <paramref name="leader"/> (to the process alone without setsid): "please stop".</summary>
    public static void TerminateGroup(int leader)
    {
        if (leader <= 0 || OperatingSystem.IsWindows()) return;
        _ = SysKill(Setsid is not null ? -leader : leader, SigTerm);
    }

    /// <summary>
    /// Kills every process of this user whose environment says it belongs to <paramref name="buildId"/>: what a
    /// command left behind in a session of its own, or what a silo that died was running. Answers how many.
    /// </summary>
    public static int KillMarked(string buildId) => KillMarked(MarkerVariable, buildId);

    /// <summary>Kills every process of this user whose environment holds <paramref name="variable"/>=<paramref name="value"/>.</summary>
    public static int KillMarked(string variable, string value)
    {
        if (!OperatingSystem.IsLinux()) return 0;
        var marker = System.Text.Encoding.UTF8.GetBytes($"{variable}={value}\0");
        var killed = 0;
        // Several passes: a process forking while we sweep may leave a child the first pass did not see.
        for (var pass = 0; pass < 3; pass++)
        {
            var found = 0;
            foreach (var pid in Marked(marker))
            {
                if (SysKill(pid, SigKill) == 0) found++;
            }

            killed += found;
            if (found == 0) break;
        }

        return killed;
    }

    /// <summary>Pids whose /proc environ holds <paramref name="marker"/> (processes of other users are unreadable, and skipped).</summary>
    public static IEnumerable<int> Marked(byte[] marker)
    {
        if (!OperatingSystem.IsLinux()) yield break;
        byte[] afterNul = [0, .. marker];
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId) continue;
            byte[] environ;
            try
            {
                environ = File.ReadAllBytes(Path.Combine(directory, "environ"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            // The environ starts with a variable or follows a NUL: match at the start or after a NUL only.
            var span = environ.AsSpan();
            if (span.StartsWith(marker) || span.IndexOf(afterNul) >= 0) yield return pid;
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);
}
