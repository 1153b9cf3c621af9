using CloudDeck.Grains.Processes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Sandbox;

/// <summary>How tenant code runs on this silo, decided per build (or server start) from the setting and the machine.</summary>
/// <param name="Sandboxed">Run it in a <see cref="SandboxSession"/>.</param>
/// <param name="Refusal">Not null: run nothing, fail with this (isolation <c>required</c>, and no sandbox here).</param>
/// <param name="Warning">Not null: say this in the log (it runs unsandboxed).</param>
public sealed record IsolationDecision(bool Sandboxed, string? Refusal, string? Warning);

/// <summary>
/// The local sandbox: bubblewrap namespaces entered as a uid of the sandbox's own (<c>setpriv</c> switches the real uid
/// first: bwrap's own <c>--uid</c>, run as root, would keep host root behind a user namespace), a network namespace
/// made by <c>unshare --net</c> with slirp4netns for egress, and rlimits through prlimit. Whether it can run here is
/// found out once, by running <c>true</c> in one; until then (and where it cannot) <see cref="Decide"/> follows
/// <c>CloudDeck:Builds:Isolation</c>.
/// </summary>
public sealed partial class SandboxRunner
{
    private static readonly string[] CertificateVariables =
        ["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "PIP_CERT", "npm_config_cafile"];

    private readonly SandboxOptions _options;
    private readonly ILogger<SandboxRunner> _logger;
    private readonly SandboxUids _uids;
    private readonly Lazy<Task<string?>> _probe;

    public SandboxRunner(SandboxOptions options, ILogger<SandboxRunner> logger)
    {
        _options = options;
        _logger = logger;
        _uids = new SandboxUids(options.FirstUid, options.UidCount);
        Bubblewrap = Find(options.BubblewrapPath, "bwrap") ?? options.BubblewrapPath ?? "bwrap";
        Slirp4netns = Find(options.Slirp4netnsPath, "slirp4netns") ?? options.Slirp4netnsPath ?? "slirp4netns";
        Setpriv = Find(null, "setpriv") ?? "setpriv";
        Unshare = Find(null, "unshare") ?? "unshare";
        Setsid = Find(null, "setsid");
        ReadOnlyPaths = [.. options.ReadOnlyPaths, .. CertificatePaths()];
        _probe = new Lazy<Task<string?>>(() => Task.Run(ProbeAsync));
    }

    public string Isolation => _options.Isolation;

    internal string Bubblewrap { get; }

    internal string Slirp4netns { get; }

    internal string Setpriv { get; }

    internal string Unshare { get; }

    internal string? Setsid { get; }

    /// <summary>Toolchain directories and the CA files the platform's own CA variables name, shown read-only inside.</summary>
    internal IReadOnlyList<string> ReadOnlyPaths { get; }

    /// <summary>Null when sandboxes run on this machine; otherwise why not. Found out once (a sandbox running <c>true</c>).</summary>
    public Task<string?> UnavailableAsync() => _probe.Value;

    /// <summary>What to do with the next build or server, and what its log must say.</summary>
    public async Task<IsolationDecision> DecideAsync()
    {
        if (Isolation == IsolationModes.None)
        {
            return new IsolationDecision(false, null,
                "Isolation is off (CloudDeck:Builds:Isolation=none): this runs unsandboxed, as the platform's own user, and can read what the platform can; " +
                "only the per-process limits (memory, CPU time) hold.");
        }

        if (await UnavailableAsync() is not { } problem) return new IsolationDecision(true, null, null);
        return Isolation == IsolationModes.Required
            ? new IsolationDecision(false, $"No sandbox can run on this machine ({problem}), and CloudDeck:Builds:Isolation is required: nothing was run.", null)
            : new IsolationDecision(false, null,
                $"No sandbox can run on this machine ({problem}): this runs unsandboxed, as the platform's own user, under the per-process limits only. " +
                "Set CloudDeck:Builds:Isolation=required to refuse instead.");
    }

    /// <summary>A sandbox identity over <paramref name="mounts"/>; dispose it when the build or server is over.</summary>
    public SandboxSession Open(IReadOnlyList<SandboxMount> mounts) => new(this, _uids, mounts);

    private async Task<string?> ProbeAsync()
    {
        if (!OperatingSystem.IsLinux()) return "sandboxes need Linux";
        if (!File.Exists(Bubblewrap)) return $"bubblewrap is not installed (looked for {Bubblewrap}; apt-get install bubblewrap)";
        if (!File.Exists(Slirp4netns)) return $"slirp4netns is not installed (looked for {Slirp4netns}; apt-get install slirp4netns)";
        if (!File.Exists(Setpriv) || !File.Exists(Unshare)) return "setpriv and unshare (util-linux) are not installed";
        if (UidProcesses.EffectiveUid() != 0) return "the platform does not run as root, so it cannot give a sandbox a uid of its own";
        var work = Directory.CreateTempSubdirectory("clouddeck-sandbox-probe-").FullName;
        try
        {
            using var session = Open([new SandboxMount(work, "/work", Writable: true)]);
            await session.OwnWritableAsync(CancellationToken.None);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await using var run = await session.StartAsync("/bin/sh", ["-c", "echo ok > /work/probe"], work,
                new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, ProcessLimits.None, timeout.Token);
            run.Process.StandardInput.Close();
            var errors = await run.Process.StandardError.ReadToEndAsync(timeout.Token);
            await run.Process.WaitForExitAsync(timeout.Token);
            if (run.Process.ExitCode != 0 || !File.Exists(Path.Combine(work, "probe")))
            {
                return $"a test sandbox failed (exit {run.Process.ExitCode}: {errors.Trim()})";
            }

            return null;
        }
        catch (Exception e)
        {
            // Whatever went wrong, the answer is "no sandbox here", said at start and in every log; never a crash.
            return $"a test sandbox could not start ({e.Message})";
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string? Find(string? configured, string name)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return File.Exists(configured) ? configured : null;
        return new[] { "/usr/bin/", "/bin/", "/usr/local/bin/", "/usr/sbin/", "/sbin/" }.Select(d => d + name).FirstOrDefault(File.Exists);
    }

    private static IEnumerable<string> CertificatePaths()
    {
        foreach (var name in CertificateVariables)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } path && Path.IsPathRooted(path)
                && !path.StartsWith("/usr/", StringComparison.Ordinal) && !path.StartsWith("/etc/ssl/", StringComparison.Ordinal))
            {
                yield return path;
            }
        }
    }

    /// <summary>The environment variables of the platform that tell toolchains where the machine's CA certificates are.</summary>
    public static IEnumerable<KeyValuePair<string, string>> CertificateEnvironment()
    {
        foreach (var name in CertificateVariables)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value) yield return new(name, value);
        }
    }

    internal void ReportAtStart(string? problem)
    {
        if (Isolation == IsolationModes.None) LogIsolationOff();
        else if (problem is null) LogSandboxed(_options.FirstUid, _options.UidCount);
        else if (Isolation == IsolationModes.Required) LogRefusing(problem);
        else LogUnsandboxed(problem);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Builds and server apps run sandboxed (bubblewrap, slirp4netns, uids {FirstUid}+{Count})")]
    private partial void LogSandboxed(int firstUid, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CloudDeck:Builds:Isolation=none: builds and server apps run UNSANDBOXED as the platform's own user")]
    private partial void LogIsolationOff();

    [LoggerMessage(Level = LogLevel.Warning, Message = "No sandbox can run on this machine ({Problem}): builds and server apps run UNSANDBOXED. Set CloudDeck:Builds:Isolation=required to refuse them instead")]
    private partial void LogUnsandboxed(string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "No sandbox can run on this machine ({Problem}) and CloudDeck:Builds:Isolation=required: every build and server app will be refused")]
    private partial void LogRefusing(string problem);
}

/// <summary>Says at start how tenant code will run here (the probe runs now, not at the first build).</summary>
internal sealed class SandboxStartupReport(SandboxRunner runner) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken) => runner.ReportAtStart(await runner.UnavailableAsync());

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
