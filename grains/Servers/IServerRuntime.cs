using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Servers;

namespace CloudDeck.Grains.Servers;

/// <summary>
/// A place server deployments run: local processes today (<see cref="LocalProcessRuntime"/>), Docker containers and
/// Kubernetes pods later. A runtime starts one instance and hands back a handle; the server grain owns health checks,
/// restarts and idle stops, so a runtime only has to start, report the exit, and stop.
/// </summary>
public interface IServerRuntime
{
    /// <summary>The <see cref="ServerSpec.Runtime"/> value this runtime serves (<see cref="ServerRuntimes.Process"/>, later "docker").</summary>
    string Name { get; }

    /// <summary>Starts the server (it is not healthy yet: the caller checks). Throws when it cannot even start.</summary>
    Task<IServerInstance> StartAsync(ServerStartRequest request, CancellationToken cancellationToken);

    /// <summary>Drops what the runtime keeps for a deployment that will not run again (files, images); nothing of it runs.</summary>
    Task RemoveAsync(string deploymentId);
}

/// <param name="Environment">The project's variables for the deployment's environment, in clear; the runtime masks them in the log.</param>
public sealed record ServerStartRequest(string DeploymentId, ServerSpec Spec, IReadOnlyList<ManifestFile> Files,
    IReadOnlyDictionary<string, string> Environment)
{
    /// <summary>The deployment's symbolic links (<see cref="DeploymentManifest.Links"/>), made after its files.</summary>
    public IReadOnlyList<ManifestLink>? Links { get; init; }

    /// <summary>Files that get their execute bits back (<see cref="DeploymentManifest.Executables"/>).</summary>
    public IReadOnlyList<string>? Executables { get; init; }

    /// <summary>
    /// The variables a server starts with, lowest first: the framework's (<see cref="ServerSpec.Environment"/>), then the
    /// project's, which win. PORT and markers are the runtime's own and go on top.
    /// </summary>
    public IEnumerable<KeyValuePair<string, string>> Variables() => (Spec.Environment ?? new Dictionary<string, string>()).Concat(Environment);
}

/// <summary>One running instance of a server: where it listens, and its end.</summary>
public interface IServerInstance : IAsyncDisposable
{
    /// <summary>Where to reach it (loopback for a local process).</summary>
    string Host { get; }

    int Port { get; }

    /// <summary>The process id, when the runtime has one to show (a container runtime may not).</summary>
    int? Pid { get; }

    /// <summary>Completes with the exit code when the instance ends, whatever ended it.</summary>
    Task<int> Exited { get; }

    /// <summary>Asks it to stop (SIGTERM for a process), and ends it (SIGKILL) after <paramref name="grace"/>.</summary>
    Task StopAsync(TimeSpan grace);
}
