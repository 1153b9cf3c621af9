using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Servers;

/// <summary>
/// The running side of one server deployment, keyed by the deployment id: its process (or, later, container) on the
/// silo where this grain lives, started from the deployment's artifact with <c>PORT</c> and the project's environment.
/// The edge asks it where to send requests; promote and rollback ask it to be healthy before the alias moves.
/// </summary>
[Alias("clouddeck.IServerGrain")]
public interface IServerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the server if it is not running (a cold start for an idle preview) and answers once its health check
    /// passed; throws <see cref="ServerUnavailableException"/> naming why when it cannot become healthy in time.
    /// </summary>
    Task<ServerEndpoint> EnsureRunning();

    /// <summary>Where the edge proxies to, without starting anything; null when stopped.</summary>
    [ReadOnly]
    Task<ServerEndpoint?> GetEndpoint();

    /// <summary>The edge's periodic note that the server had requests (idle previews are stopped after a while).</summary>
    [AlwaysInterleave]
    Task Touch();

    /// <summary>Stops after <paramref name="drain"/> (requests in flight finish); used after a swap and when deleted.</summary>
    Task Stop(TimeSpan drain);

    [ReadOnly]
    Task<ServerStatusView> GetStatus(Caller caller);

    /// <summary>Stops at once and drops what the runtime keeps for it (its files); for a deployment that is deleted or failed.</summary>
    Task Remove();
}

/// <summary>
/// How a server deployment runs: <paramref name="StartCommand"/> (a shell command, run in the deployment's files with
/// <c>PORT</c> and the project's environment), and the path its health check GETs until it answers 2xx/3xx.
/// <paramref name="Runtime"/> is the runtime target it was built for ("process"); the silo's <c>CloudDeck:Servers:Runtime</c>
/// decides where it runs. <paramref name="Framework"/> is the framework the build detected (a container runtime picks its
/// image by it); null in deployments built before it was recorded.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ServerSpec")]
public sealed record ServerSpec(string StartCommand, string HealthCheckPath = "/", string Runtime = ServerRuntimes.Process, string? Framework = null)
{
    /// <summary>
    /// What the framework expects in its environment at run time (<c>HOSTNAME=0.0.0.0</c> for Next's standalone server,
    /// <c>HOST</c> for Nuxt, SvelteKit and Astro, ...): set before the project's own variables, which win.
    /// </summary>
    [Id(0)]
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>URL prefixes whose files the framework marks immutable: the edge answers them from the artifact, not the process.</summary>
    [Id(1)]
    public IReadOnlyList<StaticRoute>? StaticRoutes { get; init; }

    /// <summary>The Node.js bin directory the build ran with, put first on PATH at run time; null for the machine's default.</summary>
    [Id(2)]
    public string? NodeBin { get; init; }
}

/// <summary>
/// Requests under <paramref name="UrlPrefix"/> (starts and ends with '/': <c>/_next/static/</c>) are the files under
/// <paramref name="Directory"/> of the artifact (ends with '/': <c>.next/static/</c>), served by the edge as immutable.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.StaticRoute")]
public sealed record StaticRoute(string UrlPrefix, string Directory)
{
    /// <summary>Folders under <see cref="Directory"/> ('/'-terminated) whose files change between builds: the server answers them.</summary>
    [Id(0)]
    public IReadOnlyList<string>? Except { get; init; }
}

public static class ServerRuntimes
{
    /// <summary>Child processes of the silo, sandboxed (<c>CloudDeck:Servers:Runtime=process</c>, the default).</summary>
    public const string Process = "process";

    /// <summary>Docker containers (<c>CloudDeck:Servers:Runtime=docker</c>).</summary>
    public const string Docker = "docker";
}

/// <summary>An upstream the edge can reach: host (loopback in embedded mode, the silo's address in a cluster) and port.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ServerEndpoint")]
public sealed record ServerEndpoint(string Host, int Port, long Generation);

[GenerateSerializer, Immutable, Alias("clouddeck.ServerStatusView")]
public sealed record ServerStatusView(
    string DeploymentId,
    string State,
    int? Pid,
    int Restarts,
    int? LastExitCode,
    DateTimeOffset? StartedAt,
    DateTimeOffset? LastRequestAt,
    TimeSpan? LastColdStart)
{
    /// <summary>Why the last start or health check failed (the process's exit, or what the health check answered).</summary>
    [Id(0)]
    public string? LastError { get; init; }

    /// <summary>The port it listens on while running.</summary>
    [Id(1)]
    public int? Port { get; init; }
}

public static class ServerStates
{
    public const string Stopped = "stopped";
    public const string Starting = "starting";
    public const string Healthy = "healthy";
    public const string Unhealthy = "unhealthy";
    public const string Crashed = "crashed";
    public const string Stopping = "stopping";
}

/// <summary>
/// What a server grain needs from its deployment to start it: whose it is, production or preview (which environment's
/// variables it gets, and whether it may be stopped when idle), and the files and <see cref="ServerSpec"/> it runs.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ServerLaunch")]
public sealed record ServerLaunch(string ProjectKey, string Target, Deployments.DeploymentManifest Manifest);

/// <summary>
/// A server's stdout and stderr, line by line, on the stream (<see cref="Namespace"/>, deployment id), as build logs are
/// (<c>BuildLogLine</c>s; secrets masked); "system" lines say when it started, exited and was restarted.
/// </summary>
public static class RuntimeLogs
{
    public const string Namespace = "runtime-logs";
}

/// <summary>The server could not be started or did not pass its health check; the message says why.</summary>
[GenerateSerializer, Alias("clouddeck.ServerUnavailableException")]
public sealed class ServerUnavailableException(string message) : Exception(message);
