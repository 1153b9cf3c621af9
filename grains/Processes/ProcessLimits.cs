using System.Diagnostics;
using System.Globalization;

namespace CloudDeck.Grains.Processes;

/// <summary>
/// Memory and CPU-time limits for a child process and everything it starts, enforced with <c>prlimit(1)</c> (util-linux):
/// the process is started as <c>prlimit --data=… --cpu=… -- program args</c>, prlimit sets the limits on itself and execs
/// the program (same pid), and every descendant inherits them. Limits are per process, not per tree.
/// </summary>
/// <remarks>
/// Why rlimits and not cgroups: cgroup v2's memory and cpu controllers need a delegated, writable <c>/sys/fs/cgroup</c>,
/// which a container (the usual CI and self-hosting case) does not have and hybrid v1 hosts do not offer; rlimits work
/// for any user on any Linux. Why RLIMIT_DATA and not RLIMIT_AS: Node/V8 reserves gigabytes of address space it never
/// touches, so <c>node</c> does not even start under an RLIMIT_AS below about 1 GiB; RLIMIT_DATA counts only writable
/// private memory (heap, anonymous mappings), which is what a runaway allocation grows.
/// </remarks>
/// <param name="MemoryLimitMb">RLIMIT_DATA in MiB (soft = hard); null for none.</param>
/// <param name="CpuTimeLimitSeconds">RLIMIT_CPU in seconds: SIGXCPU at this, SIGKILL <see cref="CpuKillGraceSeconds"/> later; null for none.</param>
/// <param name="MaxProcesses">
/// RLIMIT_NPROC: processes and threads of the real uid. Only meaningful for a sandbox, whose uid is its own (the kernel
/// counts every process of the uid); ignored unsandboxed, where the uid is the platform's. Null for none.
/// </param>
/// <param name="DiskLimitMb">
/// What a sandbox may write, in MiB: RLIMIT_FSIZE caps each file at this, and the sandbox's watch measures its writable
/// directories against it (see <see cref="Sandbox.SandboxSession"/>). Null for none.
/// </param>
public sealed record ProcessLimits(int? MemoryLimitMb = null, int? CpuTimeLimitSeconds = null, int? MaxProcesses = null, int? DiskLimitMb = null)
{
    /// <summary>Between SIGXCPU (which a process may catch to say why it stops) and SIGKILL.</summary>
    public const int CpuKillGraceSeconds = 5;

    public static ProcessLimits None { get; } = new();

    private static readonly string? Prlimit = OperatingSystem.IsLinux()
        ? new[] { "/usr/bin/prlimit", "/bin/prlimit" }.FirstOrDefault(File.Exists)
        : null;

    public bool IsNone => MemoryLimitMb is null && CpuTimeLimitSeconds is null && MaxProcesses is null && DiskLimitMb is null;

    /// <summary>These limits without the ones only a sandbox can hold (processes per uid, disk).</summary>
    public ProcessLimits ForUnsandboxed() => this with { MaxProcesses = null, DiskLimitMb = null };

    /// <summary>Null when limits can be enforced on this machine; otherwise why not (no Linux, no prlimit).</summary>
    public static string? Unenforceable => Prlimit is not null ? null
        : OperatingSystem.IsLinux() ? "prlimit (util-linux) is not installed" : "resource limits need Linux (prlimit)";

    /// <summary>How the limits read in a log: "memory 2048 MiB, CPU time 3600 s per process (prlimit: RLIMIT_DATA, RLIMIT_CPU)".</summary>
    public string Describe()
    {
        if (IsNone) return "no resource limits";
        var parts = new List<string>();
        if (MemoryLimitMb is { } memory) parts.Add($"memory {memory} MiB");
        if (CpuTimeLimitSeconds is { } cpu) parts.Add($"CPU time {cpu} s");
        var how = Unenforceable is { } problem ? $"NOT enforced: {problem}" : "prlimit: " + string.Join(", ",
            new[] { MemoryLimitMb is null ? null : "RLIMIT_DATA", CpuTimeLimitSeconds is null ? null : "RLIMIT_CPU" }.OfType<string>());
        var perProcess = parts.Count == 0 ? "" : $"{string.Join(", ", parts)} per process ({how})";
        List<string> perSandbox = [];
        if (MaxProcesses is { } processes) perSandbox.Add($"{processes} processes and threads (RLIMIT_NPROC)");
        if (DiskLimitMb is { } disk) perSandbox.Add($"disk {disk} MiB written");
        return perSandbox.Count == 0 ? perProcess
            : string.Join("; ", new[] { perProcess, string.Join(", ", perSandbox) + " per sandbox" }.Where(p => p.Length > 0));
    }

    /// <summary>
    /// Rewrites <paramref name="info"/> (which must use <see cref="ProcessStartInfo.ArgumentList"/>) to start under these
    /// limits. Answers false, leaving it unchanged, when there are none or they cannot be enforced here (see <see cref="Unenforceable"/>).
    /// </summary>
    public bool ApplyTo(ProcessStartInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (IsNone || Prlimit is null) return false;
        if (!string.IsNullOrEmpty(info.Arguments)) throw new ArgumentException("Use ArgumentList, not Arguments, with process limits.", nameof(info));

        List<string> wrapped = [];
        if (MemoryLimitMb is { } memory)
        {
            var bytes = (memory * 1024L * 1024L).ToString(CultureInfo.InvariantCulture);
            wrapped.Add($"--data={bytes}:{bytes}");
        }

        if (CpuTimeLimitSeconds is { } cpu)
        {
            wrapped.Add(string.Create(CultureInfo.InvariantCulture, $"--cpu={cpu}:{cpu + CpuKillGraceSeconds}"));
        }

        if (MaxProcesses is { } processes) wrapped.Add(string.Create(CultureInfo.InvariantCulture, $"--nproc={processes}:{processes}"));
        if (DiskLimitMb is { } disk)
        {
            var bytes = (disk * 1024L * 1024L).ToString(CultureInfo.InvariantCulture);
            wrapped.Add($"--fsize={bytes}:{bytes}");
        }

        wrapped.Add("--");
        wrapped.Add(info.FileName);
        wrapped.AddRange(info.ArgumentList);
        info.FileName = Prlimit;
        info.ArgumentList.Clear();
        foreach (var argument in wrapped) info.ArgumentList.Add(argument);
        return true;
    }

    /// <summary>A watch over one process's output that tells, once it exited, whether a limit ended it.</summary>
    public LimitWatch Watch() => new(this);
}
