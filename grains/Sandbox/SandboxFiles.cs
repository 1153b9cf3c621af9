using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CloudDeck.Grains.Sandbox;

/// <summary>File-system chores of the sandbox done as the platform: FIFOs, ownership, traversable parents.</summary>
internal static class SandboxFiles
{
    public static void MakeFifo(string path)
    {
        if (SysMkfifo(path, Convert.ToUInt32("600", 8)) != 0)
        {
            throw new IOException($"mkfifo {path} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    /// <summary>
    /// <c>chown -R -h</c>: hands <paramref name="directory"/> and all below it to the sandbox uid, links themselves and
    /// never what they point to. Called only while no process of that uid runs, so nothing can swap a path under it.
    /// </summary>
    public static async Task ChownAsync(string directory, int uid, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("chown") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[] { "-R", "-h", "-P", $"{uid}:{uid}", "--", directory }) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var errors = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0) throw new IOException($"chown of {directory} to uid {uid} failed: {errors.Trim()}");
    }

    /// <summary>
    /// Gives "others" search (x, never read) on <paramref name="directory"/> and each parent that lacks it: bubblewrap
    /// resolves its bind sources as the sandbox uid, before any namespace exists. Search alone lists nothing, and
    /// what the platform keeps in those directories (keys, the database) is not readable by others.
    /// </summary>
    public static void EnsureTraversable(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        for (var current = new DirectoryInfo(Path.GetFullPath(directory)); current is not null; current = current.Parent)
        {
            if (!current.Exists) continue;
            var mode = current.UnixFileMode;
            if (!mode.HasFlag(UnixFileMode.OtherExecute)) current.UnixFileMode = mode | UnixFileMode.OtherExecute;
        }
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int SysMkfifo(string path, uint mode);
}
