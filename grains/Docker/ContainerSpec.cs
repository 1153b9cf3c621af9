namespace CloudDeck.Grains.Docker;

/// <summary>A host directory shown in a container.</summary>
public sealed record ContainerMount(string Source, string Target, bool Writable);

/// <summary>A container port published on the host (the edge reaches a server through it).</summary>
public sealed record PublishedPort(int ContainerPort, string HostAddress, int HostPort);

/// <summary>
/// One tenant container as CloudDeck makes it. What every such container gets whatever the spec says (no capabilities,
/// no new privileges, a non-root user, a read-only root, a tmpfs /tmp, docker-init as PID 1) is
/// <see cref="DockerEngine"/>'s to add; the spec says only what differs between a build step and a server.
/// </summary>
/// <param name="Role">"build", "git" or "server": a label, and part of the container's name.</param>
/// <param name="Owner">Which platform instance made it (a label); its leftovers are removed when that instance starts again.</param>
/// <param name="MemoryLimitMb">The container's memory (and memory plus swap: no swap), null for none.</param>
/// <param name="MaxProcesses">The container's pids limit, null for none.</param>
/// <param name="FileSizeLimitMb">RLIMIT_FSIZE of its processes: no file may grow past it (SIGXFSZ), null for none.</param>
/// <param name="Cpus">CPU time per wall-clock second in cores (CFS quota), null for none.</param>
/// <param name="HandOver">Host directories (mounted in it) handed to the container's uid before it starts.</param>
public sealed record ContainerSpec(
    string Role,
    string Owner,
    string Subject,
    string Image,
    IReadOnlyList<string> Entrypoint,
    IReadOnlyList<string> Command,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<ContainerMount> Mounts,
    string Network,
    int? MemoryLimitMb,
    int? MaxProcesses,
    PublishedPort? Port = null,
    int? FileSizeLimitMb = null,
    double? Cpus = null,
    IReadOnlyList<string>? HandOver = null);

/// <summary>How a container ended.</summary>
/// <param name="OutOfMemory">The kernel's OOM killer ended a process of it (its memory limit was reached).</param>
public sealed record ContainerExit(long ExitCode, bool OutOfMemory);

/// <summary>The labels CloudDeck puts on its containers and networks.</summary>
public static class ContainerLabels
{
    public const string Role = "clouddeck.role";
    public const string Owner = "clouddeck.owner";
    public const string Subject = "clouddeck.subject";
}

/// <summary>A container's memory (cgroup, no swap), process and CPU limits; null for none.</summary>
public sealed record ContainerLimits(int? MemoryLimitMb, int? MaxProcesses, double? Cpus = null)
{
    /// <summary>From settings where 0 means no limit.</summary>
    public static ContainerLimits Of(int memoryLimitMb, int maxProcesses, double cpus = 0) =>
        new(memoryLimitMb > 0 ? memoryLimitMb : null, maxProcesses > 0 ? maxProcesses : null, cpus > 0 ? cpus : null);

    /// <summary>"memory 2048 MiB, 1024 processes and threads per container (cgroup)".</summary>
    public string Describe()
    {
        List<string> parts = [];
        if (MemoryLimitMb is { } memory) parts.Add($"memory {memory} MiB");
        if (MaxProcesses is { } processes) parts.Add($"{processes} processes and threads");
        if (Cpus is { } cpus) parts.Add($"{cpus.ToString(System.Globalization.CultureInfo.InvariantCulture)} CPU");
        return parts.Count == 0 ? "no resource limits" : string.Join(", ", parts) + " per container (cgroup)";
    }
}
