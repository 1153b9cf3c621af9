using System.Collections.Concurrent;
using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Docker;

/// <summary>
/// dockerd, as the Docker build executor and server runtime use it (Docker.DotNet over the Engine API): networks and
/// images made ready on first use, and tenant containers created with the same hardening every time: every capability
/// dropped, no new privileges, a non-root user, a read-only root file system with a size-limited tmpfs <c>/tmp</c>,
/// docker-init as PID 1, memory (no swap) and pids limits, only the mounts the spec names, never privileged, never the
/// host's network.
/// </summary>
public sealed partial class DockerEngine(DockerOptions options, ILogger<DockerEngine> logger) : IDisposable
{
    private readonly Lazy<DockerClient> _client = new(() => new DockerClientConfiguration(new Uri(options.Endpoint)).CreateClient());
    private readonly ConcurrentDictionary<string, Lazy<Task>> _networks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task>> _sweeps = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _pulls = new(1, 1);
    private int _reported;

    public DockerOptions Options => options;

    internal DockerClient Client => _client.Value;

    /// <summary>True when the platform runs as root: it hands each container a uid of its own and its work directories.</summary>
    public bool ChownsWorkDirectories => GetUid() == 0;

    /// <summary>"a uid of its own (300000…309999)" or "the platform's uid 1000": for the log lines that say who code runs as.</summary>
    public string UserDescription => ChownsWorkDirectories
        ? $"a uid of its own ({options.FirstUid}…{options.FirstUid + options.UidCount - 1})"
        : $"the platform's uid {GetUid()}";

    /// <summary>
    /// Hands <paramref name="directories"/> to <paramref name="uid"/> (<c>chown -R -h</c>: links are never followed): the
    /// platform placed files there itself (an upload, a restored cache, a deployment's files) for the container to use.
    /// </summary>
    internal static async Task HandOverAsync(IReadOnlyList<string> directories, int uid, CancellationToken cancellationToken)
    {
        if (directories.Count == 0) return;
        var info = new System.Diagnostics.ProcessStartInfo("chown") { ArgumentList = { "-R", "-h", $"{uid}:{uid}" }, RedirectStandardError = true };
        foreach (var directory in directories) info.ArgumentList.Add(directory);
        using var chown = System.Diagnostics.Process.Start(info)!;
        var error = await chown.StandardError.ReadToEndAsync(cancellationToken);
        await chown.WaitForExitAsync(cancellationToken);
        if (chown.ExitCode != 0) throw new InvalidOperationException($"Could not hand the work directories to uid {uid}: {error.Trim()}");
    }

    /// <summary>Null when dockerd answers; otherwise why not, naming the endpoint and the setting.</summary>
    public async Task<string?> UnavailableAsync(CancellationToken cancellationToken)
    {
        try
        {
            var version = await Client.System.GetVersionAsync(cancellationToken);
            if (Interlocked.Exchange(ref _reported, 1) == 0) LogConnected(options.Endpoint, version.Version, version.APIVersion);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return $"Docker does not answer at {options.Endpoint} (CloudDeck:Docker:Endpoint): {e.GetBaseException().Message}";
        }
    }

    /// <summary>Creates the user-defined bridge network <paramref name="name"/> unless it exists (or is <c>none</c>).</summary>
    public Task EnsureNetworkAsync(string name)
    {
        if (string.Equals(name, "none", StringComparison.OrdinalIgnoreCase)) return Task.CompletedTask;
        var ensure = _networks.GetOrAdd(name, n => new Lazy<Task>(() => CreateNetworkAsync(n)));
        if (ensure.Value.IsFaulted) _networks.TryRemove(new KeyValuePair<string, Lazy<Task>>(name, ensure));
        return ensure.Value;
    }

    private async Task CreateNetworkAsync(string name)
    {
        try
        {
            await Client.Networks.InspectNetworkAsync(name);
            return;
        }
        catch (DockerNetworkNotFoundException)
        {
        }

        try
        {
            await Client.Networks.CreateNetworkAsync(new NetworksCreateParameters
            {
                Name = name, Driver = "bridge", CheckDuplicate = true,
                Labels = new Dictionary<string, string> { [ContainerLabels.Role] = "network" },
                // No container-to-container traffic on it: where dockerd manages iptables, this is enforced.
                Options = new Dictionary<string, string> { ["com.docker.network.bridge.enable_icc"] = "false" },
            });
            LogNetworkCreated(name);
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // Another silo made it first.
        }
    }

    /// <summary>Makes sure dockerd has <paramref name="image"/>: pulls it when allowed, else fails naming it.</summary>
    /// <exception cref="InvalidOperationException">The image is not there and could not be pulled; the message says which and why.</exception>
    public async Task EnsureImageAsync(string image, Action<string> log, CancellationToken cancellationToken)
    {
        if (await HasImageAsync(image, cancellationToken)) return;
        if (!options.PullImages)
        {
            throw new InvalidOperationException($"The image {image} is not on this Docker host, and CloudDeck:Docker:PullImages is off.");
        }

        await _pulls.WaitAsync(cancellationToken);
        try
        {
            if (await HasImageAsync(image, cancellationToken)) return;
            log($"Pulling the image {image}");
            string? error = null;
            try
            {
                await Client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = image }, null,
                    new Progress<JSONMessage>(m => error = m.Error?.Message ?? m.ErrorMessage ?? error), cancellationToken);
            }
            catch (DockerApiException e)
            {
                error = e.ResponseBody;
            }

            if (!await HasImageAsync(image, cancellationToken))
            {
                throw new InvalidOperationException($"The image {image} could not be pulled ({error ?? "no reason given"}); set CloudDeck:Docker:Images to an image this Docker host has.");
            }
        }
        finally
        {
            _pulls.Release();
        }
    }

    private async Task<bool> HasImageAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            await Client.Images.InspectImageAsync(image, cancellationToken);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Once per process: removes the containers an earlier run of the same platform instance (<paramref name="owner"/>) left
    /// behind, and every CloudDeck container that ended over a minute ago (a silo that was killed could not remove its
    /// containers; their lease ended them).
    /// </summary>
    public Task SweepAsync(string owner) => _sweeps.GetOrAdd(owner, o => new Lazy<Task>(async () =>
    {
        await RemoveAllAsync(ContainerLabels.Owner, o);
        await RemoveEndedAsync(TimeSpan.FromMinutes(1));
    })).Value;

    private async Task RemoveEndedAsync(TimeSpan ago)
    {
        var ended = await Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [ContainerLabels.Role] = true },
                ["status"] = new Dictionary<string, bool> { ["exited"] = true, ["dead"] = true },
            },
        });
        foreach (var container in ended)
        {
            try
            {
                var state = await Client.Containers.InspectContainerAsync(container.ID);
                if (DateTimeOffset.TryParse(state.State.FinishedAt, CultureInfo.InvariantCulture, out var finished) && DateTimeOffset.UtcNow - finished > ago)
                {
                    await RemoveAsync(container.ID);
                }
            }
            catch (DockerContainerNotFoundException)
            {
            }
        }
    }

    /// <summary>Removes (killing) every container whose label <paramref name="label"/> is <paramref name="value"/>.</summary>
    public async Task<int> RemoveAllAsync(string label, string value)
    {
        var found = await Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{label}={value}"] = true } },
        });
        foreach (var container in found) await RemoveAsync(container.ID);
        return found.Count;
    }

    /// <summary>Kills and removes a container; one that is already gone is fine.</summary>
    public async Task RemoveAsync(string id)
    {
        try
        {
            await Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
        }
        catch (DockerContainerNotFoundException)
        {
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            // Removal already in progress.
        }
    }

    /// <summary>
    /// Every container's first command, so that no container outlives the silo that started it (as a sandbox dies with
    /// its silo): the silo holds the container's stdin through its attach, dockerd closes stdin when that connection goes
    /// (StdinOnce), and then every process of the container is killed. The command itself runs with stdin from /dev/null,
    /// gets SIGTERM when the container is stopped, and its exit code is the container's.
    /// </summary>
    private const string Lease =
        "exec 3<&0 0</dev/null; \"$@\" 3<&- & child=$!; (cat <&3 >/dev/null; kill -9 -1) 2>/dev/null & " +
        "trap 'kill -TERM $child 2>/dev/null' TERM INT; wait $child; status=$?; " +
        "while kill -0 $child 2>/dev/null; do wait $child; status=$?; done; exit $status";

    /// <summary>
    /// Creates the container (not started) and answers its id and the uid it runs as. As root, the uid is held by the
    /// container's name (<c>clouddeck-uid-N</c>): dockerd refuses a second container of that name with 409, so the uid is
    /// free again exactly when the container is removed, whichever silo made it. The search starts at a random uid, so
    /// silos starting containers at once rarely try the same one.
    /// </summary>
    public async Task<(string Id, int Uid)> CreateAsync(ContainerSpec spec, CancellationToken cancellationToken)
    {
        if (!ChownsWorkDirectories)
        {
            var name = $"clouddeck-{spec.Role}-{spec.Subject}-{Guid.NewGuid().ToString("N")[..8]}";
            return (await CreateAsync(spec, name, GetUid(), GetGid(), cancellationToken), GetUid());
        }

        var start = Random.Shared.Next(options.UidCount);
        for (var i = 0; i < options.UidCount; i++)
        {
            var uid = options.FirstUid + (start + i) % options.UidCount;
            try
            {
                return (await CreateAsync(spec, $"clouddeck-uid-{uid}", uid, uid, cancellationToken), uid);
            }
            catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // Another container runs as this uid.
            }
        }

        throw new InvalidOperationException(
            $"All {options.UidCount} container uids from {options.FirstUid} are in use ({DockerOptions.Section}:UidCount).");
    }

    private async Task<string> CreateAsync(ContainerSpec spec, string name, int uid, int gid, CancellationToken cancellationToken)
    {
        var host = new HostConfig
        {
            Mounts = [.. spec.Mounts.Select(m => new Mount { Type = "bind", Source = m.Source, Target = m.Target, ReadOnly = !m.Writable })],
            NetworkMode = spec.Network,
            CapDrop = ["ALL"],
            SecurityOpt = ["no-new-privileges"],
            Privileged = false,
            ReadonlyRootfs = options.ReadOnlyRootFilesystem,
            Tmpfs = new Dictionary<string, string> { ["/tmp"] = $"rw,nosuid,nodev,size={options.TmpSizeMb}m,mode=1777" },
            Init = true,
            IpcMode = "private",
        };
        if (spec.MemoryLimitMb is { } memory)
        {
            host.Memory = memory * 1024L * 1024L;
            host.MemorySwap = host.Memory;
        }

        if (spec.MaxProcesses is { } processes) host.PidsLimit = processes;
        if (spec.Cpus is { } cpus) host.NanoCPUs = (long)(cpus * 1_000_000_000);
        if (spec.FileSizeLimitMb is { } fileSize)
        {
            var bytes = fileSize * 1024L * 1024L;
            host.Ulimits = [new Ulimit { Name = "fsize", Soft = bytes, Hard = bytes }];
        }

        Dictionary<string, EmptyStruct>? exposed = null;
        if (spec.Port is { } port)
        {
            var key = port.ContainerPort.ToString(CultureInfo.InvariantCulture) + "/tcp";
            exposed = new Dictionary<string, EmptyStruct> { [key] = default };
            host.PortBindings = new Dictionary<string, IList<PortBinding>>
            {
                [key] = [new PortBinding { HostIP = port.HostAddress, HostPort = port.HostPort.ToString(CultureInfo.InvariantCulture) }],
            };
        }

        var created = await Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = name,
            Image = spec.Image,
            Entrypoint = ["/bin/sh", "-c", Lease, "clouddeck-lease"],
            Cmd = [.. spec.Entrypoint, .. spec.Command],
            WorkingDir = spec.WorkingDirectory,
            Env = [.. spec.Environment.Select(e => $"{e.Key}={e.Value}")],
            User = $"{uid}:{gid}",
            Labels = new Dictionary<string, string>
            {
                [ContainerLabels.Role] = spec.Role, [ContainerLabels.Owner] = spec.Owner, [ContainerLabels.Subject] = spec.Subject,
            },
            ExposedPorts = exposed,
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
            OpenStdin = true,
            StdinOnce = true,
            Tty = false,
            HostConfig = host,
        }, cancellationToken);
        return created.ID;
    }

    public void Dispose()
    {
        if (_client.IsValueCreated) _client.Value.Dispose();
        _pulls.Dispose();
    }

    private static int GetUid() => OperatingSystem.IsWindows() ? -1 : (int)Native.GetUid();

    private static int GetGid() => OperatingSystem.IsWindows() ? -1 : (int)Native.GetGid();

    [LoggerMessage(Level = LogLevel.Information, Message = "Docker at {Endpoint}: Engine {Version}, API {ApiVersion}")]
    private partial void LogConnected(string endpoint, string version, string apiVersion);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created the Docker network {Network} (bridge, no traffic between containers)")]
    private partial void LogNetworkCreated(string network);

    private static class Native
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getuid")]
        internal static extern uint GetUid();

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getgid")]
        internal static extern uint GetGid();
    }
}
