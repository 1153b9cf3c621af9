using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// The parts of a build that are the same wherever its commands run (<see cref="LocalBuildExecutor"/>,
/// <see cref="DockerBuildExecutor"/>): deciding what the project is, and turning what the build wrote into a manifest.
/// </summary>
public static class BuildPlanning
{
    /// <summary>Detection with the project's settings and its clouddeck.json on top, told in the build log with its reasons.</summary>
    public static BuildSettings Detect(string root, ProjectView project, BuildLogWriter log)
    {
        var (overrides, fromFile) = ProjectBuildConfig.Merge(root, new BuildOverrides(project.Framework, project.InstallCommand, project.BuildCommand,
            project.OutputDirectory, project.StartCommand, project.HealthCheckPath));
        if (fromFile.Count > 0) log.System($"{ProjectBuildConfig.FileName} sets {string.Join(", ", fromFile)} (over the project's settings)");
        var settings = FrameworkDetector.Detect(root, overrides);
        log.System($"Detected {settings.Framework} ({(settings.Server is null ? "static site" : "server")}): {settings.Reason}");
        log.System($"Install: {settings.InstallCommand ?? "none"}; build: {settings.BuildCommand ?? "none"}; output: " +
            (settings.Server is not null ? "chosen after the build" : settings.GuessOutput ? "found after the build" : settings.OutputDirectory));
        if (settings.Server is { } server) log.System($"Server app: starts with `{server.StartCommand}`, health check GET {server.HealthCheckPath}");
        return settings;
    }

    /// <summary>
    /// After the build: a server is packaged (<see cref="ServerPackager"/>), then the output is stored and described.
    /// <paramref name="upload"/> is the deployment's upload when no command ran over it (its files are the output as they are).
    /// </summary>
    public static async Task<DeploymentManifest> FinishAsync(BuildSettings settings, string source, string root, IReadOnlyList<ManifestFile>? upload,
        IArtifactStore store, string organization, Func<string, string, Task> run, string? nodeBin, BuildLogWriter log, CancellationToken cancellationToken)
    {
        var outputDirectory = settings.OutputAfterBuild(root);
        var server = settings.Server;
        if (server is not null)
        {
            var packaged = await ServerPackager.PackageAsync(settings, root, run, log);
            outputDirectory = packaged.OutputDirectory;
            server = packaged.Server with { NodeBin = nodeBin };
        }

        var output = SourceFetcher.PathInside(root, outputDirectory, "output_directory");
        if (!Directory.Exists(output)) throw new BuildStepFailedException($"The output directory '{outputDirectory}' does not exist after the build.");
        SourceFetcher.EnsureNoLinks(source, output, "output_directory");
        var collected = upload is not null
            ? new CollectedOutput(OutputCollector.FromUpload(upload, Path.GetRelativePath(source, output).Replace('\\', '/'), output == root, server is not null), [], [])
            : await OutputCollector.CollectAsync(output, output == root, store, log, cancellationToken, server is not null);
        // The organization holds what its build produced: a later upload of the same content need not send it again.
        await store.GrantAsync(organization, collected.Files.Select(f => f.Sha256), cancellationToken);
        var config = Path.Combine(root, ProjectBuildConfig.FileName);
        var routing = File.Exists(config) ? await File.ReadAllTextAsync(config, cancellationToken) : null;
        log.System($"Stored {collected.Files.Count} file(s), {collected.Bytes} bytes{(routing is null ? "" : ", with clouddeck.json")}");
        if (server?.StaticRoutes is { Count: > 0 } routes) server = server with { StaticRoutes = ServedRoutes(routes, collected, outputDirectory, log) };
        return new DeploymentManifest(collected.Files, routing, server)
        {
            Links = collected.Links.Count > 0 ? collected.Links : null,
            Executables = collected.Executables.Count > 0 ? collected.Executables : null,
        };
    }

    /// <summary>The framework's immutable prefixes that have files in the output; the log lists what the edge will serve.</summary>
    private static List<GrainInterfaces.Servers.StaticRoute> ServedRoutes(IReadOnlyList<GrainInterfaces.Servers.StaticRoute> routes, CollectedOutput output,
        string outputDirectory, BuildLogWriter log)
    {
        var served = new List<GrainInterfaces.Servers.StaticRoute>();
        foreach (var route in routes)
        {
            var count = output.Files.Count(f => f.Path.StartsWith(route.Directory, StringComparison.Ordinal)
                && route.Except?.Any(e => f.Path.AsSpan(route.Directory.Length).StartsWith(e, StringComparison.Ordinal)) != true);
            if (count == 0) continue;
            served.Add(route);
            var from = outputDirectory == "." ? route.Directory : $"{outputDirectory.TrimEnd('/')}/{route.Directory}";
            log.System($"The edge serves {route.UrlPrefix}* itself ({count} file(s) from {from}, Cache-Control: immutable); other paths go to the server");
        }

        return served;
    }
}
