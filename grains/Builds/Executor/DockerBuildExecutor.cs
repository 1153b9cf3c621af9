using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Docker;
using CloudDeck.Grains.Projects;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// Builds in Docker containers (<c>CloudDeck:Builds:Executor=docker</c>): the same pipeline as
/// <see cref="LocalBuildExecutor"/> (a fresh work directory, the source, the framework's install and build commands, the
/// output into the artifact store), but git and every command run in a container of their own from the framework's image
/// (<see cref="DockerOptions.Images"/>) that sees only the build's source and home directories, bind-mounted. A step's
/// output goes line by line into the build log (masked as ever); cancel kills the container; a container the OOM killer
/// ended fails the build naming its memory limit. Containers of the build are removed whatever the end.
/// </summary>
public sealed partial class DockerBuildExecutor(BuildOptions options, DockerEngine docker, IServiceProvider services, ILogger<DockerBuildExecutor> logger)
    : IBuildExecutor
{
    /// <summary>Where the work directory's parts are seen inside the containers.</summary>
    private const string InsideSource = "/build/src";
    private const string InsideHome = "/build/home";

    private readonly DependencyCache _cache = new(options.CacheDirectory!, options.MaxCachedDependencySets);

    private DockerEngine Engine => docker;

    /// <summary>CloudDeck:Builds:DiskLimitMb: what a build may write into its source and home; null for no limit.</summary>
    private int? DiskLimitMb => options.DiskLimitMb > 0 ? options.DiskLimitMb : null;

    /// <summary>Memory, processes and CPU per container: CloudDeck:Builds:MemoryLimitMb, MaxProcesses and ContainerCpus (DiskLimitMb is watched per step).</summary>
    private ContainerLimits Limits => ContainerLimits.Of(options.MemoryLimitMb, options.MaxProcesses, options.ContainerCpus);

    /// <summary>This platform instance's label on its build containers: the work directory is its own.</summary>
    private string Owner => "builds:" + options.WorkDirectory;

    public async Task<BuildOutcome> ExecuteAsync(BuildJob job, BuildContext context, CancellationToken cancellationToken)
    {
        var store = services.GetService<IArtifactStore>()
            ?? throw new InvalidOperationException("No artifact store is configured in this silo (IArtifactStore).");
        var log = context.Log;
        if (await docker.UnavailableAsync(cancellationToken) is { } problem)
        {
            log.System(problem + ": nothing was run.");
            throw new BuildStepFailedException(problem);
        }

        await docker.SweepAsync(Owner);
        var work = Path.Combine(options.WorkDirectory!, job.BuildId);
        var cacheSave = Task.FromResult(false);
        try
        {
            await context.AdvanceAsync(BuildStatuses.Preparing, cancellationToken);
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
            var source = Directory.CreateDirectory(Path.Combine(work, "src")).FullName;
            var home = Directory.CreateDirectory(Path.Combine(work, "home")).FullName;
            var run = new StepRunner(this, job, source, home, log);

            var plan = await context.Grains.GetGrain<IProjectGrain>(ProjectKeys.Of(job.Organization, job.Project)).GetBuildPlan(job.Environment);
            foreach (var value in plan.Environment.Values) log.Masker.AddSecret(value);
            log.Masker.AddUrl(plan.Project.GitUrl);
            log.System($"Docker: every command runs in a container of its own as {docker.UserDescription}, without capabilities, on network " +
                $"{docker.Options.BuildNetwork} ({Limits.Describe()}); it sees only the build's source and home");
            await docker.EnsureNetworkAsync(docker.Options.BuildNetwork);

            if (job.Source.Files is { } files)
            {
                log.System($"Placing {files.Count} uploaded file(s)");
                SourceFetcher.PlaceUpload(files, store, source, link: false);
            }
            else
            {
                var url = plan.Project.GitUrl ?? plan.Project.LocalPath
                    ?? throw new BuildStepFailedException("The project has neither a git URL nor a local path to build from.");
                var gitRef = job.Source.GitRef ?? job.Source.Branch ?? plan.Project.ProductionBranch;
                var allowLocal = services.GetService<ProjectOptions>()?.AllowLocalSources == true;
                await DockerGit.FetchAsync(run, url, gitRef, allowLocal, services.GetRequiredService<GitHostPolicy>(), cancellationToken);
            }

            var root = SourceFetcher.PathInside(source, string.IsNullOrEmpty(plan.Project.RootDirectory) ? "." : plan.Project.RootDirectory, "root_directory");
            SourceFetcher.EnsureNoLinks(source, root, "root_directory");
            if (!Directory.Exists(root)) throw new BuildStepFailedException($"The root directory '{plan.Project.RootDirectory}' is not in the source.");
            var settings = BuildPlanning.Detect(root, plan.Project, log);
            var image = docker.Options.ImageFor(settings.Framework);
            log.System($"Image: {image} (its Node.js runs; engines.node and .nvmrc choose a Node only in local builds)");

            await context.AdvanceAsync(BuildStatuses.Building, cancellationToken);
            var environment = CommandEnvironment(job, plan);
            var installEnvironment = new Dictionary<string, string>(environment);
            foreach (var (name, value) in settings.BuildEnvironment) environment.TryAdd(name, value);
            var inside = InsideSource + "/" + Path.GetRelativePath(source, root).Replace('\\', '/');
            if (settings.InstallCommand is not null || settings.BuildCommand is not null) await docker.EnsureImageAsync(image, log.System, cancellationToken);
            if (settings.InstallCommand is { } install)
            {
                var key = settings.Lockfile is { } lockfile ? DependencyCache.KeyOf(root, lockfile, job.Organization) : null;
                if (key is not null && await _cache.TryRestoreAsync(key, root, cancellationToken))
                {
                    log.System($"Restored node_modules from the dependency cache ({settings.Lockfile} sha256 {key[..12]}); install skipped");
                }
                else
                {
                    await run.StepAsync("install", image, install, inside, installEnvironment, cancellationToken);
                    if (key is not null && _cache.SaveInBackground(key, root) is { } save)
                    {
                        log.System($"Saving node_modules to the dependency cache ({settings.Lockfile} sha256 {key[..12]}) beside the build");
                        cacheSave = save;
                    }
                }
            }

            if (settings.BuildCommand is { } build) await run.StepAsync("build", image, build, inside, environment, cancellationToken);

            await context.AdvanceAsync(BuildStatuses.Uploading, cancellationToken);
            // Packaging may prune node_modules: the dependency cache must have its copy of the installed tree first.
            await cacheSave;
            var manifest = await BuildPlanning.FinishAsync(settings, source, root, null, store, job.Organization,
                (step, command) => run.StepAsync(step, image, command, inside, environment, cancellationToken), null, log, cancellationToken);
            return new BuildOutcome(BuildStatuses.Succeeded, 0, null, manifest);
        }
        finally
        {
            var leftovers = await docker.RemoveAllAsync(ContainerLabels.Subject, job.BuildId);
            if (leftovers > 0) LogLeftovers(job.BuildId, leftovers);
            void Clean()
            {
                if (!options.KeepWorkDirectories) WorkDirectory.TryDelete(work, logger);
            }

            if (cacheSave.IsCompleted) Clean();
            else _ = cacheSave.ContinueWith(_ => Clean(), TaskScheduler.Default);
        }
    }

    /// <summary>
    /// The install and build commands' environment: HOME, TMPDIR, the locale, the platform's proxies, npm's cache in HOME
    /// (never shared between tenants), then the project's variables, then CI. PATH is the image's.
    /// </summary>
    private static Dictionary<string, string> CommandEnvironment(BuildJob job, BuildPlan plan)
    {
        var environment = ToolchainEnvironment();
        foreach (var (name, value) in plan.Environment) environment[name] = value;
        environment["CI"] = "1";
        environment["CLOUDDECK_ENVIRONMENT"] = job.Environment;
        return environment;
    }

    internal static Dictionary<string, string> ToolchainEnvironment()
    {
        var environment = ContainerEnvironment.Base(InsideHome);
        environment["npm_config_cache"] = InsideHome + "/.npm";
        environment["YARN_CACHE_FOLDER"] = InsideHome + "/.yarn-cache";
        environment["npm_config_update_notifier"] = "false";
        environment["npm_config_fund"] = "false";
        return environment;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Build {BuildId}: removed {Count} leftover container(s)")]
    private partial void LogLeftovers(string buildId, int count);

    /// <summary>Runs one step of a build in a container of its own over the build's source and home.</summary>
    internal sealed class StepRunner(DockerBuildExecutor executor, BuildJob job, string source, string home, BuildLogWriter log)
    {
        public BuildLogWriter Log => log;

        public string Source => source;

        public DockerEngine Docker => executor.Engine;

        /// <summary>Runs <paramref name="command"/> with <c>/bin/sh -c</c> in <paramref name="directory"/> (a path inside).</summary>
        /// <exception cref="BuildStepFailedException">It exited non-zero, or its memory limit ended it.</exception>
        public async Task StepAsync(string step, string image, string command, string directory, IReadOnlyDictionary<string, string> environment,
            CancellationToken cancellationToken)
        {
            log.System($"$ {command}");
            var exit = await RunAsync("build", image, ["/bin/sh", "-c"], [command], directory, environment, [], cancellationToken);
            if (exit != 0)
            {
                log.System($"The {step} command exited with code {exit}");
                throw new BuildStepFailedException($"The {step} command exited with code {exit}", (int)exit);
            }
        }

        /// <summary>One container to its end; answers its exit code. <paramref name="extraMounts"/> are shown read-only.</summary>
        public async Task<long> RunAsync(string role, string image, IReadOnlyList<string> entrypoint, IReadOnlyList<string> command, string directory,
            IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> extraMounts, CancellationToken cancellationToken)
        {
            var limits = executor.Limits;
            List<ContainerMount> mounts = [new(source, InsideSource, true), new(home, InsideHome, true), .. extraMounts.Select(m => new ContainerMount(m, m, false))];
            var disk = executor.DiskLimitMb;
            var spec = new ContainerSpec(role, executor.Owner, job.BuildId, image, entrypoint, command, directory, environment, mounts,
                executor.Engine.Options.BuildNetwork, limits.MemoryLimitMb, limits.MaxProcesses, FileSizeLimitMb: disk, Cpus: limits.Cpus,
                HandOver: [source, home]);
            await using var container = await ContainerSession.StartAsync(executor.Engine, spec, log.Write, cancellationToken);
            ContainerExit exit;
            using var stopWatch = new CancellationTokenSource();
            // The source and home every quarter second: a container's root is read-only and its /tmp a sized tmpfs.
            var diskWatch = disk is { } limit
                ? container.KillPastDiskLimitAsync([source, home], limit * 1024L * 1024L, TimeSpan.FromMilliseconds(250), stopWatch.Token)
                : Task.FromResult(false);
            using (cancellationToken.Register(() => _ = container.KillAsync()))
            {
                exit = await container.Exited;
            }

            await stopWatch.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            if (disk is { } diskLimit && (await diskWatch || exit.ExitCode == SigXfszExit || WrittenBytes() > diskLimit * 1024L * 1024L))
            {
                var message = $"The build wrote past its disk limit ({diskLimit} MiB, CloudDeck:Builds:DiskLimitMb)";
                log.System(message);
                throw new BuildStepFailedException(message, (int)exit.ExitCode);
            }

            if (exit.OutOfMemory)
            {
                var message = $"The build ran out of memory (limit {limits.MemoryLimitMb} MiB for its container, CloudDeck:Builds:MemoryLimitMb)";
                log.System(message);
                throw new BuildStepFailedException(message, (int)exit.ExitCode);
            }

            return exit.ExitCode;
        }

        /// <summary>128 + SIGXFSZ: a process wrote a file past RLIMIT_FSIZE.</summary>
        private const long SigXfszExit = 153;

        private long WrittenBytes() => Sandbox.DiskUsage.Bytes(source) + Sandbox.DiskUsage.Bytes(home);
    }
}
