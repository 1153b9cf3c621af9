using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Builds.Executor;
using CloudDeck.Grains.Processes;
using CloudDeck.Grains.Sandbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Servers;

/// <summary>
/// Runs server deployments as child processes of the silo: the deployment's files copied (never linked: the server
/// may write into its directory, and the artifact store's files are shared) into a work directory kept across
/// restarts, <c>/bin/sh -c start</c> in a session of its own (<see cref="ProcessTree"/>), a free loopback port in
/// <c>PORT</c>, the project's environment and nothing of the silo's but PATH and proxies, and every output line on
/// the deployment's runtime log. Whatever still runs when the silo's services are disposed is killed. Each run is
/// sandboxed (<see cref="SandboxRunner"/>: a uid of its own, its app, home and tmp directories only, egress-only network,
/// its port forwarded from the host by slirp4netns) unless CloudDeck:Builds:Isolation says otherwise.
/// </summary>
public sealed class LocalProcessRuntime(ServerOptions options, SandboxRunner sandboxes, IServiceProvider services, ILogStreamProvider streams,
    TimeProvider clock, ILogger<LocalProcessRuntime> logger) : IServerRuntime, IAsyncDisposable
{
    private const string InsideApp = "/app";
    private const string InsideHome = "/home/app";

    /// <summary>Set to the deployment id in every process of a server, so a sweep of /proc finds what escaped its group.</summary>
    public const string MarkerVariable = "CLOUDDECK_DEPLOYMENT_ID";

    private const string PlacedMarker = ".placed";

    private static readonly string[] Inherited = ["PATH", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"];

    private readonly ConcurrentDictionary<ProcessInstance, byte> _running = new();

    public string Name => ServerRuntimes.Process;

    public async Task<IServerInstance> StartAsync(ServerStartRequest request, CancellationToken cancellationToken)
    {
        var store = services.GetService<IArtifactStore>()
            ?? throw new InvalidOperationException("No artifact store is configured in this silo (IArtifactStore).");
        var home = Path.Combine(options.WorkDirectory!, request.DeploymentId);
        var app = Path.Combine(home, "app");
        await Task.Run(() => Place(request, store, home, app), cancellationToken);

        var log = new BuildLogWriter(streams.GetStream<BuildLogLine>(RuntimeLogs.Namespace, request.DeploymentId), clock, logger);
        foreach (var value in request.Environment.Values) log.Masker.AddSecret(value);
        await log.StartAsync();

        var port = FreePort();
        var limits = options.ProcessLimits;
        Process process;
        SandboxedProcess? sandboxed = null;
        SandboxSession? sandbox = null;
        LimitWatch? diskWatch = null;
        try
        {
            var isolation = await sandboxes.DecideAsync();
            if (isolation.Refusal is { } refusal)
            {
                log.System(refusal);
                throw new InvalidOperationException(refusal);
            }

            if (isolation.Warning is { } warning) log.System("Warning: " + warning);
            if (isolation.Sandboxed)
            {
                sandbox = sandboxes.Open([new(app, InsideApp, true), new(Path.Combine(home, "home"), InsideHome, true), new(Path.Combine(home, "tmp"), "/tmp", true)]);
                await sandbox.OwnWritableAsync(cancellationToken);
                log.System($"Starting `{request.Spec.StartCommand}` on port {port} in a sandbox (uid {sandbox.Uid}; egress-only network; {limits.Describe()})");
                var forwardHost = IPAddress.TryParse(options.AdvertisedHost, out var advertised) && IPAddress.IsLoopback(advertised) ? "127.0.0.1" : "0.0.0.0";
                sandboxed = await sandbox.StartAsync("/bin/sh", ["-c", request.Spec.StartCommand], app,
                    Environment(request, InsideHome, "/tmp", InsideApp, app, port, sandboxed: true), limits, cancellationToken, port, forwardHost);
                process = sandboxed.Process;
                if (limits.DiskLimitMb is not null)
                {
                    // Disk only: the process limit already stops forks at RLIMIT_NPROC, and a server is not ended for reaching it.
                    diskWatch = new LimitWatch(limits with { MemoryLimitMb = null, MaxProcesses = null }, ServerOptions.Section);
                    sandboxed.Watch(diskWatch, ServerOptions.DiskWatchPeriod);
                }
            }
            else
            {
                var info = ProcessTree.SupervisedStartInfo("/bin/sh", ["-c", request.Spec.StartCommand], app,
                    Environment(request, Path.Combine(home, "home"), Path.Combine(home, "tmp"), app, app, port, sandboxed: false));
                limits.ForUnsandboxed().ApplyTo(info);
                log.System($"Starting `{request.Spec.StartCommand}` on port {port} ({limits.ForUnsandboxed().Describe()})");
                process = Process.Start(info) ?? throw new InvalidOperationException("The start command could not be started.");
            }
        }
        catch
        {
            sandbox?.Dispose();
            await log.DisposeAsync();
            throw;
        }

        process.StandardInput.Close();
        var disk = diskWatch is null ? null : new DiskLimit(diskWatch, Path.Combine(home, PlacedMarker));
        var instance = new ProcessInstance(process, options.AdvertisedHost, port, request.DeploymentId, log, Forget, sandboxed, sandbox, disk);
        _running[instance] = 0;
        return instance;
    }

    public Task RemoveAsync(string deploymentId)
    {
        // The id names a directory: only a well-formed one (16 hex digits) may.
        if (!GrainInterfaces.Deployments.DeploymentIds.IsWellFormed(deploymentId)) return Task.CompletedTask;
        var home = Path.Combine(options.WorkDirectory!, deploymentId);
        try
        {
            if (Directory.Exists(home)) Directory.Delete(home, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete the server directory {Directory}", home);
        }

        return Task.CompletedTask;
    }

    private void Forget(ProcessInstance instance) => _running.TryRemove(instance, out _);

    /// <summary>
    /// The deployment's files under <paramref name="app"/>, once: a marker says the copy is complete. Without it (a first
    /// start, or one after the server wrote past its disk limit) the app, home and tmp start again from nothing.
    /// </summary>
    private static void Place(ServerStartRequest request, IArtifactStore store, string home, string app)
    {
        if (File.Exists(Path.Combine(home, PlacedMarker)) && Directory.Exists(app)) return;
        foreach (var directory in new[] { app, Path.Combine(home, "home"), Path.Combine(home, "tmp") })
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }

        OutputCollector.PlaceServer(request.Files, request.Links, request.Executables, store, app);
        Directory.CreateDirectory(Path.Combine(home, "home"));
        Directory.CreateDirectory(Path.Combine(home, "tmp"));
        File.WriteAllText(Path.Combine(home, PlacedMarker), request.Files.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <param name="app">Where the server sees its files; <paramref name="hostApp"/> is where they are on the host.</param>
    private static Dictionary<string, string> Environment(ServerStartRequest request, string home, string temp, string app, string hostApp, int port,
        bool sandboxed)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Inherited)
        {
            if (System.Environment.GetEnvironmentVariable(name) is { } value) environment[name] = value;
        }

        if (sandboxed) environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        // The Node the build chose (engines.node, .nvmrc) runs the server too.
        if (request.Spec.NodeBin is { } nodeBin) environment["PATH"] = nodeBin + ":" + environment.GetValueOrDefault("PATH", "/usr/bin:/bin");
        foreach (var (name, value) in SandboxRunner.CertificateEnvironment()) environment[name] = value;
        environment["HOME"] = home;
        environment["TMPDIR"] = temp;
        environment["LANG"] = "C.UTF-8";
        environment["NODE_ENV"] = "production";
        if (Directory.Exists(Path.Combine(hostApp, FrameworkDetector.PythonPackages))) environment["PYTHONPATH"] = Path.Combine(app, FrameworkDetector.PythonPackages);
        foreach (var (name, value) in request.Variables()) environment[name] = value;
        // After the project's own: the port is ours to choose, and the marker is what cleanup looks for.
        environment["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment[MarkerVariable] = request.DeploymentId;
        return environment;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The silo is going away: no server outlives it.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _running.Keys) await instance.StopAsync(TimeSpan.FromSeconds(1));
    }

    /// <summary>A sandboxed server's disk watch, and the marker whose removal makes the next start place its files anew.</summary>
    private sealed record DiskLimit(LimitWatch Watch, string PlacedMarker);

    private sealed class ProcessInstance : IServerInstance
    {
        private readonly Process _process;
        private readonly string _deploymentId;
        private readonly BuildLogWriter _log;
        private readonly Action<ProcessInstance> _forget;
        private readonly SandboxedProcess? _sandboxed;
        private readonly SandboxSession? _sandbox;
        private readonly DiskLimit? _disk;
        private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ProcessInstance(Process process, string host, int port, string deploymentId, BuildLogWriter log, Action<ProcessInstance> forget,
            SandboxedProcess? sandboxed, SandboxSession? sandbox, DiskLimit? disk)
        {
            _disk = disk;
            _sandboxed = sandboxed;
            _sandbox = sandbox;
            Host = host;
            _process = process;
            _deploymentId = deploymentId;
            _log = log;
            _forget = forget;
            Port = port;
            Pid = process.Id;
            _ = RunAsync();
        }

        public string Host { get; }

        public int Port { get; }

        public int? Pid { get; }

        public Task<int> Exited => _exited.Task;

        public async Task StopAsync(TimeSpan grace)
        {
            if (!_exited.Task.IsCompleted)
            {
                // A sandboxed app is in a session of its own inside bwrap: the group's signal would reach only bwrap.
                if (_sandbox is not null) _sandbox.TerminateAll();
                else ProcessTree.TerminateGroup(Pid!.Value);
                await Task.WhenAny(_exited.Task, Task.Delay(grace));
            }

            KillAll();
            await _exited.Task;
        }

        public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.Zero);

        private async Task RunAsync()
        {
            var stdout = PumpAsync(_process.StandardOutput, BuildLogStreams.Stdout);
            var stderr = PumpAsync(_process.StandardError, BuildLogStreams.Stderr);
            await _process.WaitForExitAsync();
            var code = _process.ExitCode;
            // What the command forked dies with it: a restart must not find an orphan still holding files or ports.
            KillAll();
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(5)));
            if (_disk?.Watch.BreachOf(code) is { Resource: LimitBreach.Disk } breach)
            {
                // What it wrote is thrown away: the next start places the deployment's files again.
                File.Delete(_disk.PlacedMarker);
                _log.System(breach.Describe("The server") + "; it starts again from its deployment's files");
            }

            _log.System($"The server process exited with code {code}");
            await _log.DisposeAsync();
            if (_sandboxed is not null) await _sandboxed.DisposeAsync();
            else _process.Dispose();
            _sandbox?.Dispose();
            _forget(this);
            _exited.TrySetResult(code);
        }

        private void KillAll()
        {
            ProcessTree.Kill(_process);
            ProcessTree.KillMarked(MarkerVariable, _deploymentId);
            _sandbox?.KillAll();
        }

        private async Task PumpAsync(StreamReader reader, string stream)
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                _disk?.Watch.Observe(line);
                _log.Write(stream, line);
            }
        }
    }
}
