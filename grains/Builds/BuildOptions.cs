using CloudDeck.Grains.Builds.Executor;
using CloudDeck.Grains.Docker;
using CloudDeck.Grains.Processes;
using CloudDeck.Grains.Sandbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Builds;

/// <summary>Settings under <c>CloudDeck:Builds</c>. Every one has a default that works embedded.</summary>
public sealed class BuildOptions
{
    public const string Section = "CloudDeck:Builds";

    /// <summary>
    /// Where builds run: <c>local</c> (on this machine, in the bubblewrap sandbox: <see cref="LocalBuildExecutor"/>) or
    /// <c>docker</c> (each step in a container: <see cref="DockerBuildExecutor"/>, settings under CloudDeck:Docker).
    /// </summary>
    public string Executor { get; set; } = BuildExecutors.Local;

    /// <summary>How long a build may run (from leaving the queue) before it is killed and ends timed_out.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Where each build gets its fresh work directory; default <c>&lt;data dir&gt;/builds</c>.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>The dependency cache (node_modules by lockfile hash, and npm's own cache); default <c>&lt;data dir&gt;/build-cache</c>.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Keep a finished build's work directory (for debugging a build); by default it is deleted.</summary>
    public bool KeepWorkDirectories { get; set; }

    /// <summary>
    /// How often an unfinished build checks on itself (a reminder): a queued build asks the queue again, a started build
    /// that no process runs any more is failed. At least a minute, the reminders' smallest period.
    /// </summary>
    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Node_modules trees the cache keeps (the most recently used); older ones are deleted.</summary>
    public int MaxCachedDependencySets { get; set; } = 20;

    /// <summary>
    /// Memory (RLIMIT_DATA) each process of a build's install and build commands may use, in MiB; 0 for no limit. Per
    /// process, not per build: npm and the node it starts may each use this much.
    /// </summary>
    public int MemoryLimitMb { get; set; } = 2048;

    /// <summary>
    /// CPU time (RLIMIT_CPU) each process of a build may use, in seconds; 0 for no limit. Counts every thread, so the
    /// default is the default <see cref="Timeout"/> on two fully busy cores: only a process spinning far harder than a
    /// build does trips it. Wall time is <see cref="Timeout"/>'s job.
    /// </summary>
    public int CpuTimeLimitSeconds { get; set; } = 3600;

    /// <summary>
    /// Processes and threads a sandboxed build may have at once (RLIMIT_NPROC on the build's own uid, and a watch that
    /// ends the build when the count reaches it, since a fork bomb never exits by itself); 0 for no limit.
    /// </summary>
    public int MaxProcesses { get; set; } = 1024;

    /// <summary>
    /// The CPU each build container may use, in cores (a CFS quota); 0 for no limit. Docker executor only: a sandboxed
    /// build is held by <see cref="CpuTimeLimitSeconds"/> instead.
    /// </summary>
    public double ContainerCpus { get; set; }

    /// <summary>
    /// What a sandboxed build may write, in MiB, source, dependencies, HOME and /tmp together: each file is capped with
    /// RLIMIT_FSIZE and a watch measures the work directory every quarter second, ending the build past it; 0 for no limit.
    /// </summary>
    public int DiskLimitMb { get; set; } = 10240;

    /// <summary>The limits every install and build command runs under (see <see cref="ProcessLimits"/>).</summary>
    public ProcessLimits ProcessLimits => new(MemoryLimitMb > 0 ? MemoryLimitMb : null, CpuTimeLimitSeconds > 0 ? CpuTimeLimitSeconds : null,
        MaxProcesses > 0 ? MaxProcesses : null, DiskLimitMb > 0 ? DiskLimitMb : null);

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static BuildOptions Read(IConfiguration configuration, string dataDirectory)
    {
        var options = new BuildOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        var data = Path.GetFullPath(dataDirectory);
        options.WorkDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(options.WorkDirectory) ? Path.Combine(data, "builds") : options.WorkDirectory);
        options.CacheDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(options.CacheDirectory) ? Path.Combine(data, "build-cache") : options.CacheDirectory);
        options.Validate();
        return options;
    }

    private void Validate()
    {
        Executor = Executor.Trim().ToLowerInvariant();
        if (Executor is not (BuildExecutors.Local or BuildExecutors.Docker)) throw Invalid(nameof(Executor), "must be local or docker, for example CloudDeck__Builds__Executor=docker");
        if (Timeout <= TimeSpan.Zero) throw Invalid(nameof(Timeout), "must be a positive time span such as 00:30:00");
        // The reminders' smallest period: a shorter one would make every Queue fail when it registers its reminder.
        if (CheckPeriod < TimeSpan.FromMinutes(1)) throw Invalid(nameof(CheckPeriod), "must be at least 00:01:00 (the reminders' smallest period)");
        // Below this not even a shell and node start, and every build would fail for a reason that reads like the project's.
        if (MemoryLimitMb is < 0 or (> 0 and < MinimumMemoryLimitMb)) throw Invalid(nameof(MemoryLimitMb), $"must be 0 (no limit) or at least {MinimumMemoryLimitMb}");
        if (CpuTimeLimitSeconds < 0) throw Invalid(nameof(CpuTimeLimitSeconds), "must be 0 (no limit) or a number of seconds");
        if (MaxProcesses is < 0 or (> 0 and < 32)) throw Invalid(nameof(MaxProcesses), "must be 0 (no limit) or at least 32, for example 1024");
        if (ContainerCpus is < 0 or (> 0 and < 0.01) || !double.IsFinite(ContainerCpus))
        {
            throw Invalid(nameof(ContainerCpus), "must be 0 (no limit) or at least 0.01 cores, for example 2");
        }

        if (DiskLimitMb is < 0 or (> 0 and < 16)) throw Invalid(nameof(DiskLimitMb), "must be 0 (no limit) or at least 16, for example 10240");
        if (MaxCachedDependencySets < 1) throw Invalid(nameof(MaxCachedDependencySets), "must be at least 1");
        if (string.Equals(WorkDirectory, CacheDirectory, StringComparison.Ordinal))
        {
            throw Invalid(nameof(CacheDirectory), "must differ from WorkDirectory (work directories are deleted after each build)");
        }
    }

    private const int MinimumMemoryLimitMb = 64;

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}

public static class BuildServices
{
    /// <summary>The build pipeline of a silo: options (validated now, so a wrong one stops the start), the executor and the runs.</summary>
    public static IServiceCollection AddCloudDeckBuilds(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var options = BuildOptions.Read(configuration, dataDirectory);
        services.AddSingleton(options);
        services.AddCloudDeckSandbox(configuration);
        services.TryAddSingleton(TimeProvider.System);
        if (options.Executor == BuildExecutors.Docker)
        {
            services.AddCloudDeckDocker(configuration);
            services.TryAddSingleton<IBuildExecutor, DockerBuildExecutor>();
        }

        services.TryAddSingleton<IBuildExecutor, LocalBuildExecutor>();
        services.TryAddSingleton<BuildRuns>();
        return services;
    }
}

/// <summary>The values of <c>CloudDeck:Builds:Executor</c>.</summary>
public static class BuildExecutors
{
    public const string Local = "local";
    public const string Docker = "docker";
}
