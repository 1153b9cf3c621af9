namespace CloudDeck.Grains.Processes;

/// <summary>Which limit ended a process, and the words a log says it with.</summary>
public sealed record LimitBreach(string Resource, string Detail)
{
    public const string Memory = "memory";
    public const string CpuTime = "cpu_time";
    public const string Processes = "processes";
    public const string Disk = "disk";

    /// <summary>"build ran out of memory (limit 256 MiB per process)", "server exceeded its CPU time limit (60 s per process)".</summary>
    public string Describe(string subject) => Resource switch
    {
        Memory => $"{subject} ran out of memory ({Detail})",
        Processes => $"{subject} reached its process limit ({Detail})",
        Disk => $"{subject} wrote past its disk limit ({Detail})",
        _ => $"{subject} exceeded its CPU time limit ({Detail})",
    };
}

/// <summary>
/// Tells whether a process ended because of its <see cref="ProcessLimits"/>. Under an rlimit nothing outside the process
/// records that it hit the limit (a cgroup would count OOM kills), so the evidence is what the process says and how it
/// exits: a failed allocation makes runtimes print a known message (V8 "JavaScript heap out of memory", Node "Array
/// buffer allocation failed", Python "MemoryError", libc "Cannot allocate memory", C++ "bad_alloc", Go/Rust "out of
/// memory" / "memory allocation of … failed") and exit non-zero; RLIMIT_CPU sends SIGXCPU (exit 128+24) and shells and
/// npm say so. Feed every output line to <see cref="Observe"/> (thread-safe), then ask <see cref="BreachOf"/>.
/// </summary>
/// <param name="section">The settings the limits come from, named in the breach: builds' or servers'.</param>
public sealed class LimitWatch(ProcessLimits limits, string section = "CloudDeck:Builds")
{
    private const int SigXcpuExit = 128 + 24;
    private const int SigXfszExit = 128 + 25;

    private static readonly string[] OutOfMemoryMarkers =
    [
        "out of memory", "cannot allocate memory", "allocation failed", "memoryerror", "bad_alloc",
        "memory exhausted", "memory allocation of", "outofmemoryerror", "outofmemoryexception",
    ];

    private static readonly string[] CpuTimeMarkers = ["sigxcpu", "cpu time limit exceeded"];

    private static readonly string[] FileSizeMarkers = ["file too large", "efbig", "sigxfsz"];

    private static readonly string[] ForkMarkers = ["fork: retry", "cannot fork", "fork: resource temporarily unavailable", "spawn eagain"];

    private volatile bool _sawOutOfMemory;
    private volatile bool _sawCpuTime;
    private volatile bool _sawFileSize;
    private volatile bool _sawFork;
    private LimitBreach? _tripped;

    /// <summary>What a sandbox's watch measures against (<see cref="Sandbox.SandboxedProcess.Watch"/>).</summary>
    public ProcessLimits Limits => limits;

    /// <summary>The process-count limit as a breach (for a watch that saw the count reach it).</summary>
    public LimitBreach ProcessesBreach => new(LimitBreach.Processes, $"{limits.MaxProcesses} processes and threads, {section}:MaxProcesses");

    /// <summary>The disk limit as a breach.</summary>
    public LimitBreach DiskBreach => new(LimitBreach.Disk, $"{limits.DiskLimitMb} MiB, {section}:DiskLimitMb");

    public void Observe(string line)
    {
        if (limits.MemoryLimitMb is not null && !_sawOutOfMemory && Contains(line, OutOfMemoryMarkers)) _sawOutOfMemory = true;
        if (limits.CpuTimeLimitSeconds is not null && !_sawCpuTime && Contains(line, CpuTimeMarkers)) _sawCpuTime = true;
        if (limits.DiskLimitMb is not null && !_sawFileSize && Contains(line, FileSizeMarkers)) _sawFileSize = true;
        if (limits.MaxProcesses is not null && !_sawFork && Contains(line, ForkMarkers)) _sawFork = true;
    }

    /// <summary>Something outside the process saw a limit reached (and ended it): that is the breach, whatever the exit.</summary>
    public void Trip(LimitBreach breach) => Interlocked.CompareExchange(ref _tripped, breach, null);

    public bool Tripped => Volatile.Read(ref _tripped) is not null;

    /// <summary>The limit that ended a process which exited with <paramref name="exitCode"/>, or null (it ended on its own).</summary>
    public LimitBreach? BreachOf(int exitCode)
    {
        if (Volatile.Read(ref _tripped) is { } tripped) return tripped;
        // A fork that failed at the limit is the limit's doing even when the shell that saw it went on and exited 0.
        if (limits.MaxProcesses is not null && _sawFork) return ProcessesBreach;
        if (exitCode == 0) return null;
        if (limits.DiskLimitMb is not null && (exitCode == SigXfszExit || _sawFileSize)) return DiskBreach;
        if (limits.CpuTimeLimitSeconds is { } cpu && (exitCode == SigXcpuExit || _sawCpuTime))
        {
            return new LimitBreach(LimitBreach.CpuTime, $"{cpu} s per process");
        }

        if (limits.MemoryLimitMb is { } memory && _sawOutOfMemory)
        {
            return new LimitBreach(LimitBreach.Memory, $"limit {memory} MiB per process");
        }

        return null;
    }

    private static bool Contains(string line, string[] markers)
    {
        foreach (var marker in markers)
        {
            if (line.Contains(marker, StringComparison.OrdinalIgnoreCase)) return true;
        }

        return false;
    }
}
