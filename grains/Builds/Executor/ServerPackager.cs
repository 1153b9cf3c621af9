using CloudDeck.GrainInterfaces.Servers;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>What a server build deploys: a directory (relative to the project root) and how it starts there.</summary>
public sealed record PackagedServer(string OutputDirectory, ServerSpec Server);

/// <summary>
/// Turns a built server project into what is deployed, after its build: the framework's own minimal output where it
/// has one (Next's <c>.next/standalone</c> with its static files copied in, Nuxt's <c>.output</c>), else the project
/// root with production dependencies only (<c>npm prune --omit=dev</c>), so a deployment carries what the server needs
/// to start and not its build tools. Commands run like the build's own (<paramref name="run"/>: in its sandbox or
/// container, as its uid), never as the platform over files the build wrote.
/// </summary>
public static class ServerPackager
{
    /// <param name="run">Runs one shell command of the build in the project root, failing the build when it fails.</param>
    /// <exception cref="BuildStepFailedException">The build did not write what its framework's server needs.</exception>
    public static async Task<PackagedServer> PackageAsync(BuildSettings settings, string root, Func<string, string, Task> run, BuildLogWriter log)
    {
        var server = settings.Server ?? throw new ArgumentException("Not a server build.", nameof(settings));
        switch (settings.Packaging)
        {
            case ServerPackagings.NextStandalone when File.Exists(Path.Combine(root, ".next", "standalone", "server.js")):
                // As Next's docs say: the standalone server serves .next/static and public only when they are copied in.
                await run("package", "cp -R .next/static .next/standalone/.next/static && if [ -d public ]; then cp -R public .next/standalone/public; fi");
                log.System("Next.js standalone output: deploying .next/standalone (server.js and the traced node_modules), " +
                    "with .next/static and public copied in; starts with `node server.js`");
                return new PackagedServer(".next/standalone", server with { StartCommand = "node server.js" });
            case ServerPackagings.NextStandalone:
                log.System($"No .next/standalone/server.js after the build: deploying the project root with production dependencies, started with `{server.StartCommand}`");
                await PruneAsync(settings, root, run, log);
                return new PackagedServer(".", server);
            case ServerPackagings.NuxtOutput:
                Require(root, ".output/server/index.mjs", "Nuxt's build");
                log.System("Nuxt output: deploying .output (its Nitro server bundles its own dependencies); starts with `node server/index.mjs`");
                return new PackagedServer(".output", server);
            case ServerPackagings.PrunedRoot:
                RequireEntry(settings, root);
                await PruneAsync(settings, root, run, log);
                return new PackagedServer(".", server);
            default:
                return new PackagedServer(".", server);
        }
    }

    /// <summary>The file a framework's start command runs must exist: a clear failure beats a server that exits at once.</summary>
    private static void RequireEntry(BuildSettings settings, string root)
    {
        var start = settings.Server!.StartCommand;
        var entry = settings.Framework switch
        {
            Frameworks.Astro when start == "node ./dist/server/entry.mjs" => "dist/server/entry.mjs",
            Frameworks.SvelteKit when start.StartsWith("node ", StringComparison.Ordinal) => start[5..] + "/index.js",
            Frameworks.ReactRouter or Frameworks.Remix when start.EndsWith("./build/server/index.js", StringComparison.Ordinal) => "build/server/index.js",
            _ => null,
        };
        if (entry is not null) Require(root, entry, $"The {settings.Framework} build");
    }

    private static void Require(string root, string relative, string what)
    {
        if (!File.Exists(SourceFetcher.PathInside(root, relative, "output_directory")))
        {
            throw new BuildStepFailedException($"{what} did not write {relative}, which its server starts from.");
        }
    }

    /// <summary>Drops devDependencies from node_modules once the build no longer needs them.</summary>
    private static async Task PruneAsync(BuildSettings settings, string root, Func<string, string, Task> run, BuildLogWriter log)
    {
        if (!Directory.Exists(Path.Combine(root, "node_modules")) || !File.Exists(Path.Combine(root, "package.json"))) return;
        var prune = settings.Lockfile switch
        {
            "pnpm-lock.yaml" => "pnpm prune --prod",
            "yarn.lock" => null,
            _ => "npm prune --omit=dev --no-audit --no-fund",
        };
        if (prune is null)
        {
            log.System("yarn has no offline prune: node_modules is deployed with its devDependencies");
            return;
        }

        log.System("Keeping production dependencies only");
        await run("prune", prune);
    }
}
