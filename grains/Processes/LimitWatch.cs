namespace CloudDeck.Grains.Processes;

/// <summary>Which limit ended a process, and the words a log says it with.</summary>
public sealed record LimitBreach(string Resource, string Detail)
{
    public const string Memory = "memory";
    public const string CpuTime = "cpu_time";

    /// <summary>"build ran out of memory (limit 256 MiB per process)", "server exceeded its CPU time limit (60 s per process)".</summary>
    public string Describe(string subject) => Resource == Memory
        ? $"{subject} ran out of memory ({Detail})"
        : $"{subject} exceeded its CPU time limit ({Detail})";
}

/// <summary>
/// Tells whether a process ended because of its <see cref="ProcessLimits"/>. Under an rlimit nothing outside the process
/// records that it hit the limit (a cgroup would count OOM kills), so the evidence is what the process says and how it
/// exits: a failed allocation makes runtimes print a known message (V8 "JavaScript heap out of memory", Node "Array
/// buffer allocation failed", Python "MemoryError", libc "Cannot allocate memory", C++ "bad_alloc", Go/Rust "out of
/// memory" / "memory allocation of … failed") and exit non-zero; RLIMIT_CPU sends SIGXCPU (exit 128+24) and shells and
/// npm say so. Feed every output line to <see cref="Observe"/> (thread-safe), then ask <see cref="BreachOf"/>.
/// </summary>
public sealed class LimitWatch(ProcessLimits limits)
{
    private const int SigXcpuExit = 128 + 24;

    private static readonly string[] OutOfMemoryMarkers =
    [
        "out of memory", "cannot allocate memory", "allocation failed", "memoryerror", "bad_alloc",
        "memory exhausted", "memory allocation of", "outofmemoryerror", "outofmemoryexception",
    ];

    private static readonly string[] CpuTimeMarkers = ["sigxcpu", "cpu time limit exceeded"];

    private volatile bool _sawOutOfMemory;
    private volatile bool _sawCpuTime;

    public void Observe(string line)
    {
        if (limits.MemoryLimitMb is not null && !_sawOutOfMemory && Contains(line, OutOfMemoryMarkers)) _sawOutOfMemory = true;
        if (limits.CpuTimeLimitSeconds is not null && !_sawCpuTime && Contains(line, CpuTimeMarkers)) _sawCpuTime = true;
    }

    /// <summary>The limit that ended a process which exited with <paramref name="exitCode"/>, or null (it ended on its own).</summary>
    public LimitBreach? BreachOf(int exitCode)
    {
        if (exitCode == 0) return null;
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
