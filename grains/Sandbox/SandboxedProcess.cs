using System.Diagnostics;
using CloudDeck.Grains.Processes;

namespace CloudDeck.Grains.Sandbox;

/// <summary>
/// A command running in a sandbox: the process (its stdio is the command's), its network, and a watch that measures what
/// rlimits cannot: the sandbox's processes and threads against RLIMIT_NPROC's number (a fork bomb stops forking at the
/// limit but never exits by itself) and the bytes in its writable directories against the disk limit (RLIMIT_FSIZE caps
/// one file; the watch caps their sum). A limit reached ends every process of the sandbox and is recorded on the
/// <see cref="LimitWatch"/>, so the failure names it.
/// </summary>
public sealed class SandboxedProcess : IAsyncDisposable
{
    private static readonly TimeSpan WatchPeriod = TimeSpan.FromMilliseconds(250);

    private readonly SandboxNetwork _network;
    private readonly SandboxSession _session;
    private readonly CancellationTokenSource _stop = new();
    private Task _watching = Task.CompletedTask;

    internal SandboxedProcess(Process process, SandboxNetwork network, SandboxSession session)
    {
        Process = process;
        _network = network;
        _session = session;
    }

    public Process Process { get; }

    /// <summary>
    /// Starts measuring the sandbox against the process and disk limits of <paramref name="watch"/> (those the sandbox was
    /// started with, or fewer) every <paramref name="period"/> (250 ms by default); a breach is tripped on it.
    /// </summary>
    public void Watch(LimitWatch watch, TimeSpan? period = null)
    {
        var limits = watch.Limits;
        if (limits.MaxProcesses is null && limits.DiskLimitMb is null) return;
        _watching = Task.Run(() => WatchAsync(watch, limits, period ?? WatchPeriod, _stop.Token));
    }

    private async Task WatchAsync(LimitWatch watch, ProcessLimits limits, TimeSpan period, CancellationToken stop)
    {
        var writable = _session.Mounts.Where(m => m.Writable).Select(m => m.Host).ToList();
        var nextDiskCheck = TimeSpan.Zero;
        var running = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                LimitBreach? breach = null;
                if (limits.MaxProcesses is { } processes && UidProcesses.Tasks(_session.Uid) >= processes) breach = watch.ProcessesBreach;
                else if (limits.DiskLimitMb is { } disk && running.Elapsed >= nextDiskCheck)
                {
                    var walk = Stopwatch.StartNew();
                    if (writable.Sum(DiskUsage.Bytes) > disk * 1024L * 1024L) breach = watch.DiskBreach;
                    nextDiskCheck = running.Elapsed + DiskUsage.Pause(period, walk.Elapsed);
                }

                if (breach is null) continue;
                watch.Trip(breach);
                _session.KillAll();
                return;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _watching;
        _stop.Dispose();
        await _network.DisposeAsync();
        Process.Dispose();
    }
}

/// <summary>Bytes of the regular files under a directory; links are not followed (a link to / must not count the disk).</summary>
public static class DiskUsage
{
    /// <summary>At most this share of one core goes to walking a sandbox's files (a server's node_modules: tens of thousands).</summary>
    private const int WalkShareDivisor = 20;

    /// <summary>
    /// How long to wait after a walk that took <paramref name="walked"/> before the next: the watch's period, or 20
    /// times the walk when that is longer, so a large tree is measured less often instead of taking a core's tenth.
    /// RLIMIT_FSIZE still stops any one file at the limit in between.
    /// </summary>
    public static TimeSpan Pause(TimeSpan period, TimeSpan walked) => walked * WalkShareDivisor > period ? walked * WalkShareDivisor : period;

    public static long Bytes(string directory)
    {
        long total = 0;
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(directory));
        var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0, RecurseSubdirectories = false };
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            try
            {
                foreach (var entry in current.EnumerateFileSystemInfos("*", options))
                {
                    if (entry.Attributes.HasFlag(FileAttributes.ReparsePoint)) continue;
                    if (entry is DirectoryInfo child) pending.Push(child);
                    else if (entry is FileInfo file) total += file.Length;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A directory the build removed while we measured: it holds nothing any more.
            }
        }

        return total;
    }
}
