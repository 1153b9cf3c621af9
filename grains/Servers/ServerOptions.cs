using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Docker;
using CloudDeck.Grains.Sandbox;

namespace CloudDeck.Grains.Servers;

/// <summary>Settings under <c>CloudDeck:Servers</c>: how server deployments run. Every one has a default that works embedded.</summary>
public sealed class ServerOptions
{
    public const string Section = "CloudDeck:Servers";

    /// <summary>
    /// Where server deployments run: <c>process</c> (child processes of the silo, sandboxed: <see cref="LocalProcessRuntime"/>)
    /// or <c>docker</c> (containers: <see cref="DockerServerRuntime"/>, settings under CloudDeck:Docker).
    /// </summary>
    public string Runtime { get; set; } = ServerRuntimes.Process;

    /// <summary>Where each server deployment's files are placed to run (one directory per deployment, reused across restarts); default <c>&lt;data dir&gt;/servers</c>.</summary>
    public string? WorkDirectory { get; set; }

    /// <summary>
    /// The address the edge reaches this silo's server processes at: loopback in embedded mode; in a cluster, the silo's
    /// own address (the start command must then listen on it too, e.g. on all interfaces).
    /// </summary>
    public string AdvertisedHost { get; set; } = "127.0.0.1";

    /// <summary>How long a starting server has to answer its health check with 2xx/3xx.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The pause between two health check requests while a server starts.</summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A server that production does not serve (a preview, or an older production deployment at its own host) with no
    /// request for this long is stopped (started again by the next request). The one production serves never is.
    /// </summary>
    public TimeSpan PreviewIdleTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>After a swap, how long the old server keeps running so that requests in flight on it finish.</summary>
    public TimeSpan DrainGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Between SIGTERM and SIGKILL when a server is stopped.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The first wait before restarting a crashed server; it doubles with each crash up to <see cref="MaxRestartDelay"/>.</summary>
    public TimeSpan MinRestartDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRestartDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A server that stayed healthy this long before it crashed is restarted after <see cref="MinRestartDelay"/> again.</summary>
    public TimeSpan StableAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Memory (RLIMIT_DATA, via prlimit: see <see cref="Processes.ProcessLimits"/>) each process of a server may use, in MiB;
    /// 0 for none. There is no CPU-time limit for servers: RLIMIT_CPU counts a process's whole life, which a server never ends.
    /// </summary>
    public int MemoryLimitMb { get; set; } = 1024;

    /// <summary>Processes and threads a sandboxed server may have at once (RLIMIT_NPROC on its own uid); 0 for no limit.</summary>
    public int MaxProcesses { get; set; } = 1024;

    /// <summary>
    /// The CPU a server container may use, in cores (a CFS quota: 0.5 is half of one core's time); 0 for no limit. Docker
    /// runtime only: a sandboxed process has no cgroup of its own.
    /// </summary>
    public double ContainerCpus { get; set; } = 1;

    /// <summary>
    /// The bytes a server may write into its files, home and tmp, in MiB; 0 for none. No file may grow past it
    /// (RLIMIT_FSIZE), and a watch stops the server when their sum does; it then starts again from its deployment's files.
    /// A sandboxed server's (process runtime) and a container's alike; an unsandboxed process has none (its uid is the platform's).
    /// </summary>
    public int DiskLimitMb { get; set; } = 1024;

    /// <summary>How often a server's writable directories are measured against <see cref="DiskLimitMb"/>.</summary>
    public static readonly TimeSpan DiskWatchPeriod = TimeSpan.FromSeconds(2);

    public Processes.ProcessLimits ProcessLimits => new(MemoryLimitMb > 0 ? MemoryLimitMb : null, MaxProcesses: MaxProcesses > 0 ? MaxProcesses : null,
        DiskLimitMb: DiskLimitMb > 0 ? DiskLimitMb : null);

    /// <summary>How often a server grain looks at its process (crash, restart due, idle).</summary>
    public TimeSpan MonitorInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static ServerOptions Read(IConfiguration configuration, string dataDirectory)
    {
        var options = new ServerOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        options.WorkDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(options.WorkDirectory)
            ? Path.Combine(Path.GetFullPath(dataDirectory), "servers")
            : options.WorkDirectory);
        foreach (var (name, value) in new[]
                 {
                     (nameof(HealthCheckTimeout), options.HealthCheckTimeout), (nameof(HealthCheckInterval), options.HealthCheckInterval),
                     (nameof(PreviewIdleTimeout), options.PreviewIdleTimeout), (nameof(MinRestartDelay), options.MinRestartDelay),
                     (nameof(MaxRestartDelay), options.MaxRestartDelay), (nameof(MonitorInterval), options.MonitorInterval),
                 })
        {
            if (value <= TimeSpan.Zero) throw new InvalidOperationException($"{Section}:{name} must be a positive time span such as 00:00:30.");
        }

        if (string.IsNullOrWhiteSpace(options.AdvertisedHost) || Uri.CheckHostName(options.AdvertisedHost) == UriHostNameType.Unknown)
        {
            throw new InvalidOperationException($"{Section}:AdvertisedHost must be a host name or IP address (was '{options.AdvertisedHost}').");
        }

        if (options.MemoryLimitMb is < 0 or (> 0 and < 64))
        {
            throw new InvalidOperationException($"{Section}:MemoryLimitMb must be 0 (no limit) or at least 64.");
        }

        if (options.MaxProcesses is < 0 or (> 0 and < 32))
        {
            throw new InvalidOperationException($"{Section}:MaxProcesses must be 0 (no limit) or at least 32, for example 1024.");
        }

        options.Runtime = options.Runtime.Trim().ToLowerInvariant();
        if (options.Runtime is not (ServerRuntimes.Process or ServerRuntimes.Docker))
        {
            throw new InvalidOperationException($"{Section}:Runtime must be process or docker, for example CloudDeck__Servers__Runtime=docker.");
        }

        if (options.ContainerCpus is < 0 or (> 0 and < 0.01) || !double.IsFinite(options.ContainerCpus))
        {
            throw new InvalidOperationException($"{Section}:ContainerCpus must be 0 (no limit) or at least 0.01 cores, for example 1.");
        }

        if (options.DiskLimitMb is < 0 or (> 0 and < 16))
        {
            throw new InvalidOperationException($"{Section}:DiskLimitMb must be 0 (no limit) or at least 16, for example 1024.");
        }

        if (options.DrainGrace < TimeSpan.Zero) throw new InvalidOperationException($"{Section}:DrainGrace must not be negative.");
        if (options.StopGrace < TimeSpan.Zero) throw new InvalidOperationException($"{Section}:StopGrace must not be negative.");
        if (options.MaxRestartDelay < options.MinRestartDelay)
        {
            throw new InvalidOperationException($"{Section}:MaxRestartDelay must be at least MinRestartDelay.");
        }

        return options;
    }
}

public static class ServerServices
{
    /// <summary>Server deployments of a silo: options (validated now), the local process runtime and, when configured, the Docker one.</summary>
    public static IServiceCollection AddCloudDeckServers(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var options = ServerOptions.Read(configuration, dataDirectory);
        services.AddSingleton(options);
        services.AddCloudDeckSandbox(configuration);
        services.TryAddSingleton(TimeProvider.System);
        if (options.Runtime == ServerRuntimes.Docker)
        {
            services.AddCloudDeckDocker(configuration);
            services.TryAddSingleton<DockerServerRuntime>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IServerRuntime, DockerServerRuntime>(sp => sp.GetRequiredService<DockerServerRuntime>()));
        }

        services.TryAddSingleton<LocalProcessRuntime>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServerRuntime, LocalProcessRuntime>(sp => sp.GetRequiredService<LocalProcessRuntime>()));
        return services;
    }
}
