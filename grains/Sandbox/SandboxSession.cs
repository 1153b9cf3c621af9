using System.Diagnostics;
using System.Globalization;
using CloudDeck.Grains.Processes;

namespace CloudDeck.Grains.Sandbox;

/// <summary>A directory of the host shown inside the sandbox at <paramref name="Inside"/>.</summary>
public sealed record SandboxMount(string Host, string Inside, bool Writable);

/// <summary>
/// One sandbox identity (a build, or one run of a server): a uid of its own for as long as it lives, the directories it
/// may see, and the commands started in it. Each command gets fresh namespaces (mount, PID, IPC, UTS, network, user) over
/// the same directories, so what one command leaves on disk the next sees, and nothing else. Disposing kills every
/// process of the uid and gives the uid back.
/// </summary>
public sealed class SandboxSession : IDisposable
{
    private readonly SandboxRunner _runner;
    private readonly SandboxUids _uids;
    private readonly string _controlDirectory;
    private int _launches;
    private bool _disposed;

    internal SandboxSession(SandboxRunner runner, SandboxUids uids, IReadOnlyList<SandboxMount> mounts)
    {
        _runner = runner;
        _uids = uids;
        Mounts = mounts;
        Uid = uids.Rent();
        try
        {
            // Short (a unix socket path has 108 bytes), private to the platform, searchable so bwrap can bind the two files.
            _controlDirectory = Directory.CreateTempSubdirectory("clouddeck-sandbox-").FullName;
            if (!OperatingSystem.IsLinux()) throw new SandboxUnavailableException("sandboxes need Linux");
            File.SetUnixFileMode(_controlDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute);
            WriteShared("passwd", $"root:x:0:0:root:/root:/usr/sbin/nologin\nbuild:x:{Uid}:{Uid}:CloudDeck sandbox:/home/build:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
            WriteShared("group", $"root:x:0:\nbuild:x:{Uid}:\nnogroup:x:65534:\n");
            // slirp4netns' resolver: the sandbox cannot reach the host's loopback, where a local resolver often listens.
            WriteShared("resolv.conf", "nameserver 10.0.2.3\n");
            foreach (var mount in mounts) SandboxFiles.EnsureTraversable(mount.Host);
        }
        catch
        {
            uids.Return(Uid);
            throw;
        }
    }

    /// <summary>The real uid and gid every process of this sandbox runs as.</summary>
    public int Uid { get; }

    public IReadOnlyList<SandboxMount> Mounts { get; }

    /// <summary>Where a host path under one of the mounts is seen inside the sandbox.</summary>
    public string Inside(string hostPath)
    {
        var full = Path.GetFullPath(hostPath);
        foreach (var mount in Mounts.OrderByDescending(m => m.Host.Length))
        {
            var host = mount.Host.TrimEnd('/');
            if (full == host) return mount.Inside;
            if (full.StartsWith(host + "/", StringComparison.Ordinal)) return mount.Inside.TrimEnd('/') + full[host.Length..];
        }

        throw new ArgumentException($"{hostPath} is not inside any of the sandbox's directories.", nameof(hostPath));
    }

    /// <summary>Hands the writable directories (and all below them) to the sandbox uid: after the platform placed files there.</summary>
    public async Task OwnWritableAsync(CancellationToken cancellationToken)
    {
        foreach (var mount in Mounts.Where(m => m.Writable)) await SandboxFiles.ChownAsync(mount.Host, Uid, cancellationToken);
    }

    /// <summary>
    /// Starts <paramref name="program"/> in a fresh sandbox over these directories, in <paramref name="hostDirectory"/>
    /// (a host path under a mount), with exactly <paramref name="environment"/>, under <paramref name="limits"/>, and
    /// waits until its network is up. With <paramref name="port"/> the platform forwards
    /// <paramref name="forwardHost"/>:port on the host to the same port inside.
    /// </summary>
    public async Task<SandboxedProcess> StartAsync(string program, IReadOnlyList<string> arguments, string hostDirectory,
        IReadOnlyDictionary<string, string> environment, ProcessLimits limits, CancellationToken cancellationToken,
        int? port = null, string forwardHost = "127.0.0.1")
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var launch = Interlocked.Increment(ref _launches);
        var block = Path.Combine(_controlDirectory, $"block-{launch}");
        SandboxFiles.MakeFifo(block);

        List<string> inner = ["--net", "--", _runner.Setpriv, "--reuid", Uid.ToString(CultureInfo.InvariantCulture),
            "--regid", Uid.ToString(CultureInfo.InvariantCulture), "--clear-groups", "--", _runner.Bubblewrap];
        inner.AddRange(BubblewrapArguments(Inside(hostDirectory)));
        inner.AddRange(["--block-fd", "9", "--", program, .. arguments]);
        var chain = new ProcessStartInfo(_runner.Unshare);
        foreach (var argument in inner) chain.ArgumentList.Add(argument);
        limits.ApplyTo(chain);

        // The shell (as root) opens the FIFO read-write, so neither end waits for the other; bwrap waits on it until the
        // network is attached, and only then execs the command.
        var info = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false, WorkingDirectory = "/", RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8, StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var argument in new[] { "-c", "exec \"$@\" 9<>\"$0\"", block }) info.ArgumentList.Add(argument);
        if (_runner.Setsid is { } setsid) info.ArgumentList.Add(setsid);
        info.ArgumentList.Add(chain.FileName);
        foreach (var argument in chain.ArgumentList) info.ArgumentList.Add(argument);
        info.Environment.Clear();
        foreach (var (name, value) in environment) info.Environment[name] = value;

        var process = await Spawner.StartAsync(info);
        try
        {
            var network = await SandboxNetwork.AttachAsync(process, _runner.Setpriv, _runner.Slirp4netns, _controlDirectory, launch, port, forwardHost, cancellationToken);
            await Task.Run(() =>
            {
                using var release = new FileStream(block, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
                release.WriteByte(1);
            }, cancellationToken);
            return new SandboxedProcess(process, network, this);
        }
        catch
        {
            KillAll();
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
            throw;
        }
    }

    private List<string> BubblewrapArguments(string insideDirectory)
    {
        List<string> a =
        [
            "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr",
        ];
        foreach (var top in new[] { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" })
        {
            var info = new DirectoryInfo(top);
            if (info.LinkTarget is { } target) a.AddRange(["--symlink", target, top]);
            else if (info.Exists) a.AddRange(["--ro-bind", top, top]);
        }

        foreach (var entry in SystemEtc) a.AddRange(["--ro-bind-try", entry, entry]);
        foreach (var name in new[] { "passwd", "group", "resolv.conf" }) a.AddRange(["--ro-bind", Path.Combine(_controlDirectory, name), "/etc/" + name]);
        foreach (var path in _runner.ReadOnlyPaths) a.AddRange(["--ro-bind-try", path, path]);
        a.AddRange(["--proc", "/proc", "--dev", "/dev"]);
        if (!Mounts.Any(m => m.Inside == "/tmp")) a.AddRange(["--tmpfs", "/tmp"]);
        foreach (var mount in Mounts) a.AddRange([mount.Writable ? "--bind" : "--ro-bind", mount.Host, mount.Inside]);
        a.AddRange(["--chdir", insideDirectory]);
        return a;
    }

    /// <summary>What of the host's /etc toolchains need: name resolution, CA certificates, the loader's cache, time zone.</summary>
    private static readonly string[] SystemEtc =
    [
        "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
        "/etc/ssl", "/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/pki", "/etc/ld.so.cache", "/etc/ld.so.conf",
        "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives", "/etc/npmrc", "/etc/mime.types",
    ];

    private void WriteShared(string name, string text)
    {
        var path = Path.Combine(_controlDirectory, name);
        File.WriteAllText(path, text);
        if (OperatingSystem.IsWindows()) return;
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>SIGTERM to the sandbox's processes (not to bubblewrap itself): "please stop".</summary>
    public void TerminateAll() => UidProcesses.TerminateAll(Uid);

    /// <summary>SIGKILL to every process running as this sandbox's uid; answers how many.</summary>
    public int KillAll() => UidProcesses.KillAll(Uid);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        KillAll();
        _uids.Return(Uid);
        try
        {
            Directory.Delete(_controlDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
