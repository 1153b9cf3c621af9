using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Projects;
using CloudDeck.Grains.Sandbox;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// Builds on this machine: a fresh work directory per build, the source (git or upload), the framework's (or the
/// project's) install and build commands as child processes with the project's environment, and the output stored in
/// the artifact store. The work directory goes when the build ends, whatever the end, and so does every process
/// still carrying the build's marker. Every command (git included) runs in the build's sandbox (<see cref="SandboxRunner"/>),
/// which sees only the work directory's src, home and tmp: unless CloudDeck:Builds:Isolation says otherwise.
/// </summary>
public sealed class LocalBuildExecutor(BuildOptions options, SandboxRunner sandboxes, IServiceProvider services, ILogger<LocalBuildExecutor> logger)
    : IBuildExecutor
{
    /// <summary>Where the work directory's parts are seen inside the sandbox.</summary>
    private const string InsideSource = "/build/src";
    private const string InsideHome = "/build/home";

    /// <summary>Passed from the silo's environment, so builds work behind a proxy; nothing else of it reaches a build.</summary>
    private static readonly string[] Inherited = ["PATH", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"];

    private readonly DependencyCache _cache = new(options.CacheDirectory!, options.MaxCachedDependencySets);

    /// <summary>Work directories an earlier process set aside and did not finish deleting, deleted in the background.</summary>
    private readonly Task _leftovers = Task.Run(() => WorkDirectory.DeleteSetAside(options.WorkDirectory!, logger));

    /// <summary>The sandbox's PATH (or the silo's, unsandboxed) is where the default Node.js is looked for.</summary>
    private readonly NodeVersions _node = new(options.NodeInstalls, sandboxes.Isolation == IsolationModes.None
        ? System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin" : SandboxPath);

    private const string SandboxPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public async Task<BuildOutcome> ExecuteAsync(BuildJob job, BuildContext context, CancellationToken cancellationToken)
    {
        // Resolved per build, not at construction: a silo without an artifact store still hosts every other grain.
        var store = services.GetService<IArtifactStore>()
            ?? throw new InvalidOperationException("No artifact store is configured in this silo (IArtifactStore).");
        var log = context.Log;
        var isolation = await sandboxes.DecideAsync();
        if (isolation.Refusal is { } refusal)
        {
            log.System(refusal);
            throw new BuildStepFailedException(refusal);
        }

        if (isolation.Warning is { } warning) log.System("Warning: " + warning);
        var work = Path.Combine(options.WorkDirectory!, job.BuildId);
        var cacheSave = Task.FromResult(false);
        SandboxSession? sandbox = null;
        try
        {
            await context.AdvanceAsync(BuildStatuses.Preparing, cancellationToken);
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
            var source = Directory.CreateDirectory(Path.Combine(work, "src")).FullName;
            var home = Directory.CreateDirectory(Path.Combine(work, "home")).FullName;
            var temp = Directory.CreateDirectory(Path.Combine(work, "tmp")).FullName;

            var plan = await context.Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(job.Organization, job.Project)).GetBuildPlan(job.Environment);
            foreach (var value in plan.Environment.Values) log.Masker.AddSecret(value);
            log.Masker.AddUrl(plan.Project.GitUrl);
            var allowLocal = services.GetService<ProjectOptions>()?.AllowLocalSources == true;
            if (isolation.Sandboxed)
            {
                List<SandboxMount> mounts = [new(source, InsideSource, true), new(home, InsideHome, true), new(temp, "/tmp", true)];
                // A local source is read by git inside the sandbox: shown read-only at its own path, and only when allowed.
                if (plan.Project.GitUrl is null && plan.Project.LocalPath is { } local && allowLocal && Directory.Exists(local))
                {
                    mounts.Add(new(Path.GetFullPath(local), Path.GetFullPath(local), false));
                }

                sandbox = sandboxes.Open(mounts);
                log.System($"Sandbox: uid {sandbox.Uid}; own mount, PID, IPC, UTS, user and network namespaces; egress-only network; " +
                    "sees only its work directory");
            }

            var toolchain = ToolchainEnvironment(job, sandbox is null ? home : InsideHome, sandbox is null ? temp : "/tmp", sandbox is not null);
            var environment = CommandEnvironment(job, plan, toolchain);

            var settingsOnly = plan.Project;
            if (job.Source.Files is { } files)
            {
                // Hard links only when no command of the project will run: a command could rewrite a linked file in place,
                // and with it the stored artifact every deployment shares.
                var runsCommands = files.Any(f => f.Path == "package.json" || f.Path.EndsWith("/package.json", StringComparison.Ordinal))
                    || settingsOnly.InstallCommand is not null || settingsOnly.BuildCommand is not null;
                log.System($"Placing {files.Count} uploaded file(s)");
                SourceFetcher.PlaceUpload(files, store, source, link: !runsCommands);
                if (sandbox is not null && runsCommands) await sandbox.OwnWritableAsync(cancellationToken);
            }
            else
            {
                var url = plan.Project.GitUrl ?? plan.Project.LocalPath
                    ?? throw new BuildStepFailedException("The project has neither a git URL nor a local path to build from.");
                var gitRef = job.Source.GitRef ?? job.Source.Branch ?? plan.Project.ProductionBranch;
                if (sandbox is not null) await sandbox.OwnWritableAsync(cancellationToken);
                await SourceFetcher.FetchGitAsync(url, gitRef, source, toolchain, allowLocal, services.GetRequiredService<GitHostPolicy>(), log,
                    cancellationToken, sandbox);
            }

            var root = SourceFetcher.PathInside(source, string.IsNullOrEmpty(plan.Project.RootDirectory) ? "." : plan.Project.RootDirectory, "root_directory");
            SourceFetcher.EnsureNoLinks(source, root, "root_directory");
            if (!Directory.Exists(root)) throw new BuildStepFailedException($"The root directory '{plan.Project.RootDirectory}' is not in the source.");
            var settings = BuildPlanning.Detect(root, plan.Project, log);
            var node = await _node.ChooseAsync(root, PackageInfo.Read(root));
            log.System($"Node.js {node.Install.Version} ({node.Install.Path}): {node.Reason}");
            if (node.Install.BinDirectory is { } nodeBin) environment["PATH"] = nodeBin + ":" + environment.GetValueOrDefault("PATH", "/usr/bin:/bin");
            foreach (var (name, value) in settings.BuildEnvironment) environment.TryAdd(name, value);

            await context.AdvanceAsync(BuildStatuses.Building, cancellationToken);
            if (settings.InstallCommand is { } install)
            {
                // The install runs without the build's NODE_ENV=production, which would leave devDependencies out.
                var installEnvironment = new Dictionary<string, string>(environment);
                foreach (var name in settings.BuildEnvironment.Keys.Where(k => !plan.Environment.ContainsKey(k))) installEnvironment.Remove(name);
                cacheSave = await InstallAsync(job.Organization, install, settings, root, installEnvironment, log, sandbox, cancellationToken);
            }

            if (settings.BuildCommand is { } build) await RunStepAsync("build", build, root, environment, log, sandbox, cancellationToken);

            await context.AdvanceAsync(BuildStatuses.Uploading, cancellationToken);
            // Packaging may prune node_modules: the dependency cache must have its copy of the installed tree first.
            await cacheSave;
            // Nothing ran over an upload: the output is the uploaded files themselves, already hashed and stored.
            var untouchedUpload = job.Source.Files is not null && settings.InstallCommand is null && settings.BuildCommand is null;
            var manifest = await BuildPlanning.FinishAsync(settings, source, root, untouchedUpload ? job.Source.Files : null, store, job.Organization,
                (step, command) => RunStepAsync(step, command, root, environment, log, sandbox, cancellationToken), node.Install.BinDirectory, log, cancellationToken);
            return new BuildOutcome(BuildStatuses.Succeeded, 0, null, manifest);
        }
        finally
        {
            // Sandboxed, every process of the build has the sandbox's uid: no need to read every process's environment
            // on the machine for the marker (tens of milliseconds of each deploy on a busy machine).
            var leftovers = sandbox is not null ? sandbox.KillAll() : ProcessTree.KillMarked(job.BuildId);
            if (leftovers > 0) logger.LogInformation("Build {BuildId}: killed {Count} leftover process(es)", job.BuildId, leftovers);
            var ended = sandbox;
            void Clean(string directory)
            {
                ended?.Dispose();
                if (!options.KeepWorkDirectories) WorkDirectory.TryDelete(directory, logger);
            }

            // The deletion (node_modules: 300–600 ms measured) is off the deploy's path: the directory is renamed out of the
            // way at once and deleted beside what comes next. The dependency cache may still be copying node_modules out
            // of it: then it stays in place until the copy ends.
            if (cacheSave.IsCompleted)
            {
                var aside = options.KeepWorkDirectories ? work : WorkDirectory.SetAside(work, logger);
                _ = Task.Run(() => Clean(aside));
            }
            else
            {
                _ = cacheSave.ContinueWith(_ => Clean(work), TaskScheduler.Default);
            }
        }
    }

    /// <returns>The dependency cache's save of the fresh node_modules, running beside the build (false when none).</returns>
    private async Task<Task<bool>> InstallAsync(string organization, string install, BuildSettings settings, string root,
        IReadOnlyDictionary<string, string> environment, BuildLogWriter log, SandboxSession? sandbox, CancellationToken cancellationToken)
    {
        // Kept per organization: a tree one tenant's install scripts wrote must never be restored into another's build.
        var key = settings.Lockfile is { } lockfile ? DependencyCache.KeyOf(root, lockfile, organization) : null;
        if (key is not null && await _cache.TryRestoreAsync(key, root, cancellationToken))
        {
            log.System($"Restored node_modules from the dependency cache ({settings.Lockfile} sha256 {key[..12]}); install skipped");
            if (sandbox is not null) await sandbox.OwnWritableAsync(cancellationToken);
            return Task.FromResult(false);
        }

        await RunStepAsync("install", install, root, environment, log, sandbox, cancellationToken);
        if (key is null) return Task.FromResult(false);
        if (_cache.SaveInBackground(key, root) is not { } save) return Task.FromResult(false);
        log.System($"Saving node_modules to the dependency cache ({settings.Lockfile} sha256 {key[..12]}) beside the build");
        return save;
    }

    private async Task RunStepAsync(string step, string command, string root, IReadOnlyDictionary<string, string> environment,
        BuildLogWriter log, SandboxSession? sandbox, CancellationToken cancellationToken)
    {
        log.System($"$ {command}");
        var exit = await CommandRunner.ShellAsync(command, root, environment, options.ProcessLimits, log, cancellationToken, sandbox);
        if (exit != 0)
        {
            log.System($"The {step} command exited with code {exit}");
            throw new BuildStepFailedException($"The {step} command exited with code {exit}", exit);
        }
    }

    /// <summary>
    /// What every process of the build gets, git included: PATH, HOME, TMPDIR, the locale, the proxies and CA settings of
    /// the machine (npm fails without them where the registry is reached through a TLS-inspecting proxy), npm's cache,
    /// and the build's marker. Nothing else of the silo's environment (it may hold database passwords and keys).
    /// </summary>
    private Dictionary<string, string> ToolchainEnvironment(BuildJob job, string home, string temp, bool sandboxed)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Inherited)
        {
            if (System.Environment.GetEnvironmentVariable(name) is { } value) environment[name] = value;
        }

        // The silo's PATH names its own directories (a home under /root, say), which the sandbox does not show.
        if (sandboxed) environment["PATH"] = SandboxPath;
        foreach (var (name, value) in SandboxRunner.CertificateEnvironment()) environment[name] = value;
        environment["HOME"] = home;
        environment["TMPDIR"] = temp;
        environment["LANG"] = "C.UTF-8";
        // A sandbox gets npm's download cache of its own: a cache shared between tenants is one they could poison.
        environment["npm_config_cache"] = sandboxed ? Path.Combine(home, ".npm") : _cache.PackageManagerCache;
        environment["YARN_CACHE_FOLDER"] = sandboxed ? Path.Combine(home, ".yarn-cache") : Path.Combine(_cache.PackageManagerCache, "yarn");
        environment["npm_config_update_notifier"] = "false";
        environment["npm_config_fund"] = "false";
        environment[ProcessTree.MarkerVariable] = job.BuildId;
        return environment;
    }

    /// <summary>The install and build commands' environment: the toolchain's, then the project's variables, then CI and the marker.</summary>
    private static Dictionary<string, string> CommandEnvironment(BuildJob job, BuildPlan plan, IReadOnlyDictionary<string, string> toolchain)
    {
        var environment = new Dictionary<string, string>(toolchain, StringComparer.Ordinal);
        foreach (var (name, value) in plan.Environment) environment[name] = value;
        // After the project's own: a build always knows it runs in CI, and always carries the marker its cleanup looks for.
        environment["CI"] = "1";
        environment["CLOUDDECK_ENVIRONMENT"] = job.Environment;
        environment[ProcessTree.MarkerVariable] = job.BuildId;
        return environment;
    }
}
