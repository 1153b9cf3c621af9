using System.Diagnostics;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Grains.Notifications;
using Microsoft.Extensions.Logging;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Grains.Servers;

/// <summary>
/// The running side of one server deployment, on the silo where this activation lives. Reentrant, so a start that
/// waits for its health check never holds up the edge's GetEndpoint and Touch; concurrent EnsureRunning calls share
/// the one start in progress. A timer watches the instance: an unexpected exit is restarted with exponential backoff,
/// an idle preview is stopped. Nothing here is persisted: the process lives and dies with this activation (a
/// deactivation stops it), and the next request starts it again.
/// </summary>
[Reentrant]
public sealed partial class ServerGrain(IEnumerable<IServerRuntime> runtimes, ServerOptions options, TimeProvider clock, ILogger<ServerGrain> logger)
    : Grain, IServerGrain
{
    private IServerInstance? _instance;
    private Task<ServerEndpoint>? _starting;
    private IDisposable? _monitor;
    private string _state = ServerStates.Stopped;
    private string? _projectKey;
    private long _generation;
    private int _restarts;
    private int? _lastExitCode;
    private string? _lastError;
    private DateTimeOffset? _startedAt;
    private DateTimeOffset? _healthySince;
    private DateTimeOffset? _lastRequestAt;
    private DateTimeOffset? _restartAt;
    private TimeSpan? _lastColdStart;

    /// <summary>When the idle check last found this server serving production (which counts as activity).</summary>
    private DateTimeOffset? _servingSince;
    private TimeSpan _backoff;

    /// <summary>Crashes with no stable run between them; the <see cref="CrashesReported"/>th is reported as an event.</summary>
    private int _crashesInRow;

    public const int CrashesReported = 3;

    private string Id => this.GetPrimaryKeyString();

    public async Task<ServerEndpoint> EnsureRunning()
    {
        if (Endpoint() is { } running && _state == ServerStates.Healthy) return running;
        if (_state == ServerStates.Crashed && _starting is null && _restartAt is { } due)
        {
            // The backoff is what keeps a crash loop from eating the machine: a request does not jump it.
            var wait = Math.Max(0, (due - clock.GetUtcNow()).TotalSeconds);
            throw new ServerUnavailableException($"Deployment '{Id}': the server exited with code {_lastExitCode}; restarting in {wait:0.#} s.");
        }

        var start = _starting ??= StartAsync(restart: false);
        try
        {
            return await start;
        }
        finally
        {
            if (ReferenceEquals(_starting, start) && start.IsCompleted) _starting = null;
        }
    }

    public Task<ServerEndpoint?> GetEndpoint() => Task.FromResult(_state == ServerStates.Healthy ? Endpoint() : null);

    public Task Touch()
    {
        _lastRequestAt = clock.GetUtcNow();
        return Task.CompletedTask;
    }

    public async Task Stop(TimeSpan drain)
    {
        if (drain > TimeSpan.Zero) await Task.Delay(drain);
        if (_starting is { } start)
        {
            // A start in progress finishes first (its callers get their answer), then the stop applies.
            await Task.WhenAny(start);
        }

        await StopInstanceAsync(ServerStates.Stopped, "Stopped");
        _restartAt = null;
        _monitor?.Dispose();
        _monitor = null;
    }

    public async Task Remove()
    {
        await Stop(TimeSpan.Zero);
        foreach (var runtime in runtimes) await runtime.RemoveAsync(Id);
        DeactivateOnIdle();
    }

    public async Task<ServerStatusView> GetStatus(Caller caller)
    {
        // The deployment decides who may look (another tenant gets its NotFoundException).
        await GrainFactory.GetGrain<IDeploymentGrain>(Id).Get(caller);
        return new ServerStatusView(Id, _state, _instance?.Pid, _restarts, _lastExitCode, _startedAt, _lastRequestAt, _lastColdStart)
        {
            LastError = _lastError, Port = _instance?.Port,
        };
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _monitor?.Dispose();
        await StopInstanceAsync(ServerStates.Stopped, "Stopped (the activation was deactivated)");
    }

    private ServerEndpoint? Endpoint() =>
        _instance is { } instance && !instance.Exited.IsCompleted ? new ServerEndpoint(instance.Host, instance.Port, _generation) : null;

    /// <summary>Starts an instance and waits for its health check; a failed one is stopped and the reason thrown.</summary>
    private async Task<ServerEndpoint> StartAsync(bool restart)
    {
        var watch = Stopwatch.StartNew();
        _state = ServerStates.Starting;
        IServerInstance? instance = null;
        try
        {
            var launch = await GrainFactory.GetGrain<IDeploymentGrain>(Id).GetServerLaunch()
                ?? throw new ServerUnavailableException($"Deployment '{Id}' is not a server deployment that can run (static, deleted or failed).");
            _projectKey = launch.ProjectKey;
            var spec = launch.Manifest.Server!;
            // The silo's setting decides, not the spec: a deployment runs wherever this silo runs servers.
            var runtime = runtimes.FirstOrDefault(r => r.Name == options.Runtime)
                ?? throw new ServerUnavailableException($"This silo has no '{options.Runtime}' runtime for deployment '{Id}'.");
            var environment = launch.Target == DeploymentTargets.Production ? ProjectEnvironments.Production : ProjectEnvironments.Preview;
            var plan = await GrainFactory.GetGrain<IProjectGrain>(launch.ProjectKey).GetBuildPlan(environment);
            if (_instance is not null) await StopInstanceAsync(ServerStates.Starting, null);
            instance = await runtime.StartAsync(new ServerStartRequest(Id, spec, launch.Manifest.Files, plan.Environment) { Links = launch.Manifest.Links, Executables = launch.Manifest.Executables }, CancellationToken.None);
            _instance = instance;
            _generation++;
            _startedAt = clock.GetUtcNow();
            EnsureMonitor();

            var failure = await HealthProbe.WaitAsync(instance, spec.HealthCheckPath, options.HealthCheckTimeout, options.HealthCheckInterval);
            if (failure is not null) throw new ServerUnavailableException($"Deployment '{Id}': {failure}");

            _state = ServerStates.Healthy;
            _healthySince = clock.GetUtcNow();
            _lastError = null;
            if (!restart) _lastColdStart = watch.Elapsed;
            LogStarted(Id, instance.Port, watch.ElapsedMilliseconds, restart);
            return new ServerEndpoint(instance.Host, instance.Port, _generation);
        }
        catch (Exception e)
        {
            _lastError = e.Message;
            if (instance is not null)
            {
                if (instance.Exited.IsCompleted) _lastExitCode = await instance.Exited;
                await StopInstanceAsync(ServerStates.Unhealthy, null);
            }
            else
            {
                _state = ServerStates.Unhealthy;
            }

            throw e as ServerUnavailableException ?? new ServerUnavailableException($"Deployment '{Id}' could not start: {e.Message}");
        }
    }

    private async Task StopInstanceAsync(string after, string? reason)
    {
        if (_instance is not { } instance)
        {
            _state = after;
            return;
        }

        // Stopping, not healthy: the monitor must not take this exit for a crash.
        _state = ServerStates.Stopping;
        await instance.StopAsync(options.StopGrace);
        if (ReferenceEquals(_instance, instance)) _instance = null;
        _state = after;
        if (reason is not null) LogStopped(Id, reason);
    }

    private void EnsureMonitor() =>
        _monitor ??= this.RegisterGrainTimer(_ => MonitorAsync(),
            new GrainTimerCreationOptions(options.MonitorInterval, options.MonitorInterval) { KeepAlive = true, Interleave = true });

    /// <summary>One look at the instance: an unexpected exit is recorded and a restart scheduled; a due restart runs; an idle preview stops.</summary>
    private async Task MonitorAsync()
    {
        var now = clock.GetUtcNow();
        if (_state == ServerStates.Healthy && _instance is { Exited.IsCompleted: true } crashed)
        {
            _lastExitCode = await crashed.Exited;
            _instance = null;
            _state = ServerStates.Crashed;
            var stable = _healthySince is { } since && now - since >= options.StableAfter;
            _backoff = stable || _backoff == TimeSpan.Zero ? options.MinRestartDelay : Min(_backoff * 2, options.MaxRestartDelay);
            _restartAt = now + _backoff;
            _lastError = $"The server process exited with code {_lastExitCode}; restarting in {_backoff.TotalSeconds:0.#} s";
            LogCrashed(Id, _lastExitCode.Value, _backoff.TotalMilliseconds);
            _crashesInRow = stable ? 1 : _crashesInRow + 1;
            // Once per crash loop: a stable run in between starts the count again.
            if (_crashesInRow == CrashesReported && _projectKey is not null)
            {
                var (organization, project) = ProjectKeys.Split(_projectKey);
                await Notify.EventAsync(GrainFactory, clock, NotificationEventTypes.ServerCrashedRepeatedly, organization, project,
                    $"The server of deployment {Id} of {_projectKey} crashed {CrashesReported} times in a row",
                    [new("deployment_id", Id), new("exit_code", _lastExitCode.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                     new("restart_in_seconds", _backoff.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture))]);
            }

            return;
        }

        if (_state == ServerStates.Crashed && _starting is null && _restartAt is { } due && now >= due)
        {
            _restartAt = null;
            _restarts++;
            CloudDeckMetrics.ServerRestarted();
            var restart = _starting = StartAsync(restart: true);
            try
            {
                await restart;
            }
            catch (ServerUnavailableException)
            {
                // Still broken: try again later, waiting longer each time.
                _state = ServerStates.Crashed;
                _backoff = Min(_backoff * 2, options.MaxRestartDelay);
                _restartAt = clock.GetUtcNow() + _backoff;
            }
            finally
            {
                if (ReferenceEquals(_starting, restart)) _starting = null;
            }

            return;
        }

        var lastActivity = Latest(Latest(_lastRequestAt, _healthySince), _servingSince) ?? now;
        if (_state == ServerStates.Healthy && _starting is null && now - lastActivity >= options.PreviewIdleTimeout)
        {
            // Only what production serves runs without requests: a preview, or a production deployment that production
            // has moved away from (still reachable at its own host), is stopped; production itself is asked again later.
            var plan = await GrainFactory.GetGrain<IProjectGrain>(_projectKey!).GetBuildPlan(ProjectEnvironments.Preview);
            if (plan.Project.ProductionDeploymentId == Id)
            {
                _servingSince = now;
                return;
            }

            await StopInstanceAsync(ServerStates.Stopped, "Stopped: idle");
            _monitor?.Dispose();
            _monitor = null;
        }
    }

    private static DateTimeOffset? Latest(DateTimeOffset? a, DateTimeOffset? b) => a > b || b is null ? a : b;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [LoggerMessage(Level = LogLevel.Information, Message = "Server {DeploymentId} healthy on port {Port} after {Milliseconds} ms (restart: {Restart})")]
    private partial void LogStarted(string deploymentId, int port, long milliseconds, bool restart);

    [LoggerMessage(Level = LogLevel.Information, Message = "Server {DeploymentId}: {Reason}")]
    private partial void LogStopped(string deploymentId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Server {DeploymentId} exited with code {ExitCode}; restarting in {Delay} ms")]
    private partial void LogCrashed(string deploymentId, int exitCode, double delay);
}
