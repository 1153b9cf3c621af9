using System.Runtime.InteropServices;

namespace CloudDeck.Testing;

/// <summary>The few libc calls .NET does not expose: arbitrary signals and the effective uid.</summary>
internal static class Native
{
    private const int Esrch = 3;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint SysGetEuid();

    public static bool IsRoot => !OperatingSystem.IsWindows() && SysGetEuid() == 0;

    /// <returns>0 on success, otherwise errno.</returns>
    public static int Kill(int pid, int signal) =>
        SysKill(pid, signal) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>Signal 0 probes existence; EPERM still means "exists, just not ours".</summary>
    public static bool ProcessExists(int pid) => pid > 0 && Kill(pid, 0) != Esrch;

    /// <summary>Linux and the BSDs number STOP/CONT differently; everything else agrees.</summary>
    public static int Number(Signal signal) => signal switch
    {
        Signal.SIGSTOP when OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() => 17,
        Signal.SIGCONT when OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() => 19,
        _ => (int)signal,
    };
}

/// <summary>POSIX signals, valued as on Linux.</summary>
#pragma warning disable CA1707 // the conventional names read better than SigKill
public enum Signal
{
    SIGINT = 2,
    SIGQUIT = 3,
    SIGKILL = 9,
    SIGTERM = 15,
    SIGCONT = 18,
    SIGSTOP = 19,
}
#pragma warning restore CA1707
