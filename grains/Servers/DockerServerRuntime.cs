using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Builds.Executor;
using CloudDeck.Grains.Docker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Servers;

/// <summary>
/// Runs server deployments as Docker containers (<c>CloudDeck:Servers:Runtime=docker</c>): the deployment's files copied
/// into a directory of its own (kept across restarts) and bind-mounted at <c>/app</c>, <c>/bin/sh -c start</c> in the
/// framework's image as a non-root user without capabilities, on the server network, with <c>PORT</c> set and that port
/// published on the host's loopback (the advertised host's address in a cluster), where the edge and the health check
/// reach it. Output lines go to the deployment's runtime log, masked. The server grain owns health checks, restarts and
/// the zero-downtime swap, exactly as for <see cref="LocalProcessRuntime"/>.
/// </summary>
public sealed class DockerServerRuntime(ServerOptions options, DockerEngine docker, IServiceProvider services, ILogStreamProvider streams,
    TimeProvider clock, ILogger<DockerServerRuntime> logger) : IServerRuntime, IAsyncDisposable
{
    private const string InsideApp = "/app";
    private const string InsideHome = "/home/app";
    private const string PlacedMarker = ".placed";

    private readonly ConcurrentDictionary<ContainerInstance, byte> _running = new();

    public string Name => ServerRuntimes.Docker;

    private string Owner => "servers:" + options.WorkDirectory;

    public async Task<IServerInstance> StartAsync(ServerStartRequest request, CancellationToken cancellationToken)
    {
        var store = services.GetService<IArtifactStore>()
            ?? throw new InvalidOperationException("No artifact store is configured in this silo (IArtifactStore).");
        if (await docker.UnavailableAsync(cancellationToken) is { } problem) throw new InvalidOperationException(problem);
        await docker.SweepAsync(Owner);
        var home = Path.Combine(options.WorkDirectory!, request.DeploymentId);
        var app = Path.Combine(home, "app");
        await Task.Run(() => Place(request, store, home, app), cancellationToken);

        var log = new BuildLogWriter(streams.GetStream<BuildLogLine>(RuntimeLogs.Namespace, request.DeploymentId), clock, logger);
        foreach (var value in request.Environment.Values) log.Masker.AddSecret(value);
        await log.StartAsync();
        try
        {
            var image = docker.Options.ImageFor(request.Spec.Framework ?? GuessFramework(request.Spec.StartCommand));
            await docker.EnsureImageAsync(image, log.System, cancellationToken);
            await docker.EnsureNetworkAsync(docker.Options.ServerNetwork);
            var port = FreePort();
            var publishOn = IPAddress.TryParse(options.AdvertisedHost, out var advertised) && IPAddress.IsLoopback(advertised) ? "127.0.0.1" : "0.0.0.0";
            var limits = ContainerLimits.Of(options.MemoryLimitMb, options.MaxProcesses, options.ContainerCpus);
            int? disk = options.DiskLimitMb > 0 ? options.DiskLimitMb : null;
            var writable = new[] { app, Path.Combine(home, "home") };
            var spec = new ContainerSpec("server", Owner, request.DeploymentId, image, ["/bin/sh", "-c"], [request.Spec.StartCommand], InsideApp,
                Environment(request, app, port), [new(app, InsideApp, true), new(writable[1], InsideHome, true)],
                docker.Options.ServerNetwork, limits.MemoryLimitMb, limits.MaxProcesses, new PublishedPort(port, publishOn, port),
                FileSizeLimitMb: disk, Cpus: limits.Cpus, HandOver: writable);
            var container = await ContainerSession.StartAsync(docker, spec, log.Write, cancellationToken);
            log.System($"Started `{request.Spec.StartCommand}` on port {port} in a Docker container ({image}; uid {container.Uid}, no capabilities; " +
                $"network {docker.Options.ServerNetwork}, port published on {publishOn}; {limits.Describe()}" +
                (disk is { } mb ? $"; disk {mb} MiB" : "") + ")");
            var instance = new ContainerInstance(container, options.AdvertisedHost, port, log, limits, Forget,
                disk is { } diskLimit ? new DiskWatch(writable, diskLimit, Path.Combine(home, PlacedMarker)) : null);
            _running[instance] = 0;
            return instance;
        }
        catch
        {
            await log.DisposeAsync();
            throw;
        }
    }

    public async Task RemoveAsync(string deploymentId)
    {
        if (!GrainInterfaces.Deployments.DeploymentIds.IsWellFormed(deploymentId)) return;
        await docker.RemoveAllAsync(ContainerLabels.Subject, deploymentId);
        var home = Path.Combine(options.WorkDirectory!, deploymentId);
        try
        {
            if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete the server directory {Directory}", home);
        }
    }

    /// <summary>The silo is going away: no server container outlives it.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _running.Keys) await instance.StopAsync(TimeSpan.FromSeconds(1));
    }

    private void Forget(ContainerInstance instance) => _running.TryRemove(instance, out _);

    /// <summary>For a deployment built before the framework was recorded: the image family its start command names.</summary>
    private static string GuessFramework(string start) =>
        start.StartsWith("python", StringComparison.Ordinal) ? Frameworks.Python
        : start.Contains("dotnet ", StringComparison.Ordinal) ? Frameworks.DotNet
        : Frameworks.Node;

    private static void Place(ServerStartRequest request, IArtifactStore store, string home, string app)
    {
        if (File.Exists(Path.Combine(home, PlacedMarker)) && Directory.Exists(app)) return;
        // Not placed, or what the server wrote was thrown away (its disk limit): its files and home start anew.
        if (Directory.Exists(app)) Directory.Delete(app, recursive: true);
        if (Directory.Exists(Path.Combine(home, "home"))) Directory.Delete(Path.Combine(home, "home"), recursive: true);
        OutputCollector.PlaceServer(request.Files, request.Links, request.Executables, store, app);
        Directory.CreateDirectory(Path.Combine(home, "home"));
        File.WriteAllText(Path.Combine(home, PlacedMarker), request.Files.Count.ToString(CultureInfo.InvariantCulture));
    }

    private static Dictionary<string, string> Environment(ServerStartRequest request, string hostApp, int port)
    {
        var environment = ContainerEnvironment.Base(InsideHome);
        environment["NODE_ENV"] = "production";
        if (Directory.Exists(Path.Combine(hostApp, FrameworkDetector.PythonPackages))) environment["PYTHONPATH"] = InsideApp + "/" + FrameworkDetector.PythonPackages;
        foreach (var (name, value) in request.Variables()) environment[name] = value;
        environment["PORT"] = port.ToString(CultureInfo.InvariantCulture);
        return environment;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The server's writable directories against CloudDeck:Servers:DiskLimitMb; the marker says its files are placed.</summary>
    private sealed record DiskWatch(IReadOnlyList<string> Directories, int LimitMb, string PlacedMarker)
    {
        public static readonly TimeSpan Period = TimeSpan.FromSeconds(2);

        public string Message => $"The server wrote past its disk limit ({LimitMb} MiB, CloudDeck:Servers:DiskLimitMb); " +
                                 "it starts again from its deployment's files";
    }

    private sealed class ContainerInstance : IServerInstance
    {
        private const int SigXfszExit = 128 + 25;

        private readonly ContainerSession _container;
        private readonly BuildLogWriter _log;
        private readonly ContainerLimits _limits;
        private readonly Action<ContainerInstance> _forget;
        private readonly DiskWatch? _disk;
        private readonly CancellationTokenSource _stopWatching = new();
        private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task<bool> _diskWatch;

        public ContainerInstance(ContainerSession container, string host, int port, BuildLogWriter log, ContainerLimits limits,
            Action<ContainerInstance> forget, DiskWatch? disk)
        {
            _container = container;
            _log = log;
            _limits = limits;
            _forget = forget;
            _disk = disk;
            Host = host;
            Port = port;
            _diskWatch = disk is null
                ? Task.FromResult(false)
                : container.KillPastDiskLimitAsync(disk.Directories, disk.LimitMb * 1024L * 1024L, DiskWatch.Period, _stopWatching.Token);
            _ = WatchAsync();
        }

        public string Host { get; }

        public int Port { get; }

        public int? Pid => _container.Pid;

        public Task<int> Exited => _exited.Task;

        public async Task StopAsync(TimeSpan grace)
        {
            await _container.StopAsync(grace);
            await _exited.Task;
        }

        public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.Zero);

        private async Task WatchAsync()
        {
            var exit = await _container.Exited;
            await _stopWatching.CancelAsync();
            // Awaited after the exit: the watch has answered whether it was the one that killed the container.
            var pastDiskLimit = await _diskWatch;
            if (exit.OutOfMemory)
            {
                _log.System($"The server ran out of memory (limit {_limits.MemoryLimitMb} MiB for its container, CloudDeck:Servers:MemoryLimitMb)");
            }

            if (_disk is not null && (pastDiskLimit || exit.ExitCode == SigXfszExit))
            {
                // What it wrote is thrown away: the next start places the deployment's files again.
                File.Delete(_disk.PlacedMarker);
                _log.System(_disk.Message);
            }

            _log.System($"The server container exited with code {exit.ExitCode}");
            await _log.DisposeAsync();
            await _container.DisposeAsync();
            _stopWatching.Dispose();
            _forget(this);
            _exited.TrySetResult((int)exit.ExitCode);
        }
    }
}
