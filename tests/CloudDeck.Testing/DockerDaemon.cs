using System.Diagnostics;
using System.Globalization;
using Docker.DotNet;

namespace CloudDeck.Testing;

/// <summary>
/// The dockerd the Docker tests use, one per test process: the one DOCKER_HOST names, else the machine's own at
/// /var/run/docker.sock, else (as root, with dockerd installed) a private one this process starts on a socket under
/// /tmp with the flags these machines need (no iptables, no default bridge, the vfs storage driver) and stops when the
/// process exits. Framework-neutral: tests turn <see cref="MissingReason"/> into Skip or Fail.
/// </summary>
public sealed class DockerDaemon
{
    private const string DirectoryPrefix = "clouddeck-dockerd-";
    private static readonly Lazy<Task<DockerDaemon?>> Shared = new(FindOrStartAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    private static string? _problem;

    private DockerDaemon(string endpoint, string origin)
    {
        Endpoint = endpoint;
        Origin = origin;
    }

    /// <summary>unix:///… : what CloudDeck:Docker:Endpoint is set to.</summary>
    public string Endpoint { get; }

    /// <summary>Where it came from ("DOCKER_HOST", "the machine's", "private, started by this test process").</summary>
    public string Origin { get; }

    public static string? Dockerd => PostgresTools.FindOnPath("dockerd");

    /// <summary>The daemon, found or started on first use; null when none can run here (see <see cref="MissingReason"/>).</summary>
    public static Task<DockerDaemon?> GetAsync() => Shared.Value;

    /// <summary>Why no dockerd can be had, phrased for Skip/Fail; null when one answers. Finds or starts it.</summary>
    public static async Task<string?> MissingReasonAsync() => await GetAsync().ConfigureAwait(false) is null ? _problem : null;

    public DockerClient CreateClient() => new DockerClientConfiguration(new Uri(Endpoint)).CreateClient();

    private static async Task<DockerDaemon?> FindOrStartAsync()
    {
        if (Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host && host.StartsWith("unix://", StringComparison.Ordinal)
            && await AnswersAsync(host).ConfigureAwait(false))
        {
            return new DockerDaemon(host, "DOCKER_HOST");
        }

        const string machine = "unix:///var/run/docker.sock";
        if (File.Exists("/var/run/docker.sock") && await AnswersAsync(machine).ConfigureAwait(false)) return new DockerDaemon(machine, "the machine's");

        if (Dockerd is not { } dockerd)
        {
            _problem = Requirement.Missing("dockerd", "apt-get install docker.io");
            return null;
        }

        if (!Native.IsRoot)
        {
            _problem = Requirement.Explain("No dockerd answers (DOCKER_HOST, /var/run/docker.sock) and only root can start a private one.");
            return null;
        }

        return await StartPrivateAsync(dockerd).ConfigureAwait(false);
    }

    private static async Task<DockerDaemon?> StartPrivateAsync(string dockerd)
    {
        SweepStale();
        var directory = Path.Combine(Path.GetTempPath(), DirectoryPrefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        var socket = Path.Combine(directory, "docker.sock");
        var endpoint = "unix://" + socket;
        var log = Path.Combine(directory, "dockerd.log");
        var info = new ProcessStartInfo("/bin/sh")
        {
            // Through sh only to send its output to a file: nothing in this process has to keep reading it.
            ArgumentList =
            {
                "-c", "exec \"$0\" \"$@\" >\"$LOG\" 2>&1", dockerd,
                "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs",
                "--data-root", Path.Combine(directory, "root"), "--exec-root", Path.Combine(directory, "exec"),
                "-H", endpoint, "--pidfile", Path.Combine(directory, "dockerd.pid"),
            },
            UseShellExecute = false,
            RedirectStandardInput = true,
        };
        info.Environment["LOG"] = log;
        var process = Process.Start(info)!;
        process.StandardInput.Close();
        var started = Stopwatch.StartNew();
        while (!await AnswersAsync(endpoint).ConfigureAwait(false))
        {
            if (process.HasExited || started.Elapsed > TimeSpan.FromSeconds(60))
            {
                var output = File.Exists(log) ? await File.ReadAllTextAsync(log).ConfigureAwait(false) : "";
                _problem = Requirement.Explain($"A private dockerd did not start (exit {(process.HasExited ? process.ExitCode : "none, still starting after 60 s")}): " +
                    string.Join('\n', output.Split('\n').TakeLast(15)));
                Stop(process, directory);
                return null;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(process, directory);
        await CreateNetworksAsync(endpoint, directory).ConfigureAwait(false);
        return new DockerDaemon(endpoint, "private, started by this test process");
    }

    /// <summary>
    /// The platform's default networks, made now, one dockerd at a time (a lock file): each dockerd picks a subnet no route
    /// of the host uses yet, and two of them picking at once could both take the same one, after which the host would
    /// route one's published ports into the other's containers.
    /// </summary>
    private static async Task CreateNetworksAsync(string endpoint, string directory)
    {
        await using var exclusive = await ExclusiveAsync(Path.Combine(Path.GetTempPath(), "clouddeck-dockerd-networks.lock")).ConfigureAwait(false);
        using var client = new DockerClientConfiguration(new Uri(endpoint)).CreateClient();
        foreach (var name in new[] { "clouddeck-builds", "clouddeck-servers" })
        {
            var created = await client.Networks.CreateNetworkAsync(new Docker.DotNet.Models.NetworksCreateParameters
            {
                Name = name, Driver = "bridge", CheckDuplicate = true,
                Options = new Dictionary<string, string> { ["com.docker.network.bridge.enable_icc"] = "false" },
            }).ConfigureAwait(false);
            // Its bridge is an interface of the host, which outlives dockerd: recorded, so it can be deleted even after a crash.
            await File.AppendAllTextAsync(Path.Combine(directory, NetworksFile), created.ID + "\n").ConfigureAwait(false);
        }
    }

    private const string NetworksFile = "networks";

    /// <summary>Deletes the bridges of the networks made on a private dockerd (dockerd leaves them on the host when it stops).</summary>
    private static void DeleteBridges(string directory)
    {
        var file = Path.Combine(directory, NetworksFile);
        if (!File.Exists(file) || PostgresTools.FindOnPath("ip") is not { } ip) return;
        foreach (var id in File.ReadAllLines(file).Where(l => l.Length >= 12))
        {
            var bridge = "br-" + id[..12];
            if (!Directory.Exists(Path.Combine("/sys/class/net", bridge))) continue;
            using var delete = Process.Start(new ProcessStartInfo(ip, ["link", "delete", bridge]) { UseShellExecute = false, RedirectStandardError = true });
            delete?.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    private static async Task<FileStream> ExclusiveAsync(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 600)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    /// <summary>SIGTERM (dockerd stops its containers), SIGKILL after 20 s, then its directory (images, containers) goes.</summary>
    private static void Stop(Process process, string directory)
    {
        try
        {
            if (!process.HasExited)
            {
                Native.Kill(process.Id, (int)Signal.SIGTERM);
                if (!process.WaitForExit(TimeSpan.FromSeconds(20))) process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
        }

        Unmount(directory);
        DeleteBridges(directory);
        PostgresTools.DeleteDirectory(directory);
    }

    /// <summary>dockerd's of test processes that were killed: stopped, and their directories removed.</summary>
    private static void SweepStale()
    {
        foreach (var directory in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            if (!int.TryParse(Path.GetFileName(directory)[DirectoryPrefix.Length..], CultureInfo.InvariantCulture, out var owner)
                || Native.ProcessExists(owner))
            {
                continue;
            }

            var pidFile = Path.Combine(directory, "dockerd.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid) && Native.ProcessExists(pid))
            {
                Native.Kill(pid, (int)Signal.SIGTERM);
                for (var i = 0; i < 100 && Native.ProcessExists(pid); i++) Thread.Sleep(200);
            }

            Unmount(directory);
            DeleteBridges(directory);
            PostgresTools.DeleteDirectory(directory);
        }
    }

    /// <summary>What dockerd leaves mounted under its directories when it dies (netns and shm mounts): a delete would fail on them.</summary>
    private static void Unmount(string directory)
    {
        if (!File.Exists("/proc/self/mounts")) return;
        var mounts = File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')[1]).Where(m => m.StartsWith(directory + "/", StringComparison.Ordinal))
            .OrderByDescending(m => m.Length);
        foreach (var mount in mounts)
        {
            using var umount = Process.Start(new ProcessStartInfo("umount", ["-l", mount]) { UseShellExecute = false, RedirectStandardError = true });
            umount?.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    private static async Task<bool> AnswersAsync(string endpoint)
    {
        var path = endpoint["unix://".Length..];
        if (!File.Exists(path)) return false;
        try
        {
            using var client = new DockerClientConfiguration(new Uri(endpoint)).CreateClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.System.PingAsync(timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or OperationCanceledException or TimeoutException)
        {
            return false;
        }
    }
}
