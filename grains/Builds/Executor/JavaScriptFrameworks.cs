using System.Text.RegularExpressions;
using CloudDeck.GrainInterfaces.Servers;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// The JavaScript frameworks CloudDeck knows, each told apart by its dependency and, for those that can be either, a
/// static site or a server by its own configuration, read as text (a config is code; its usual spellings are matched):
/// Next.js by <c>output</c>, Nuxt by <c>nuxt generate</c>, SvelteKit by its adapter, Astro by <c>@astrojs/node</c>,
/// React Router by <c>ssr: false</c>. Each server gets the environment its framework documents and the URL prefix of
/// its fingerprinted files, which the edge serves itself.
/// </summary>
public static partial class JavaScriptFrameworks
{
    private static readonly string[] NextConfigs = ["next.config.js", "next.config.mjs", "next.config.ts", "next.config.cjs", "next.config.mts"];
    private static readonly string[] SvelteConfigs = ["svelte.config.js", "svelte.config.mjs", "svelte.config.ts", "svelte.config.cjs"];
    private static readonly string[] AstroConfigs = ["astro.config.mjs", "astro.config.ts", "astro.config.js", "astro.config.mts", "astro.config.cjs"];
    private static readonly string[] ReactRouterConfigs = ["react-router.config.ts", "react-router.config.js", "react-router.config.mjs"];

    /// <summary>The framework a package.json names, most specific first; null for none of them.</summary>
    public static string? Detect(PackageInfo package)
    {
        if (package.Has("next")) return Frameworks.NextJs;
        if (package.Has("nuxt") || package.Has("nuxt3")) return Frameworks.Nuxt;
        if (package.Has("@sveltejs/kit")) return Frameworks.SvelteKit;
        if (package.Has("astro")) return Frameworks.Astro;
        if (package.Has("@react-router/dev") || package.Has("@react-router/serve")) return Frameworks.ReactRouter;
        if (package.Has("@remix-run/dev") || package.Has("@remix-run/serve")) return Frameworks.Remix;
        if (package.Has("react-scripts")) return Frameworks.CreateReactApp;
        if (package.Has("@vue/cli-service")) return Frameworks.VueCli;
        if (package.Has("vite")) return Frameworks.Vite;
        return null;
    }

    /// <summary>How <paramref name="name"/> builds in <paramref name="root"/>; null when it is not one of these frameworks.</summary>
    public static BuildSettings? Plan(string name, string root, PackageInfo? package, string? install, string? build, string? lockfile)
    {
        var production = new Dictionary<string, string> { ["NODE_ENV"] = "production" };
        var depends = package is null ? "" : $"package.json depends on {DependencyOf(name)}";
        return name switch
        {
            Frameworks.NextJs => Next(root, package, install, build ?? "./node_modules/.bin/next build", lockfile, depends),
            Frameworks.Nuxt => Nuxt(package, install, build ?? "./node_modules/.bin/nuxt build", lockfile, depends),
            Frameworks.SvelteKit => SvelteKit(root, package, install, build ?? "./node_modules/.bin/vite build", lockfile, depends),
            Frameworks.Astro => Astro(root, package, install, build ?? "./node_modules/.bin/astro build", lockfile, depends),
            Frameworks.ReactRouter or Frameworks.Remix => ReactRouter(name, root, package, install, build, lockfile, depends),
            Frameworks.Vite or Frameworks.VueCli => new BuildSettings(name, install, build, "dist", lockfile) { Reason = depends + "; a static site", BuildEnvironment = production },
            Frameworks.CreateReactApp => new BuildSettings(name, install, build, "build", lockfile) { Reason = depends + "; a static site", BuildEnvironment = production },
            _ => null,
        };
    }

    private static string DependencyOf(string name) => name switch
    {
        Frameworks.NextJs => "next",
        Frameworks.Nuxt => "nuxt",
        Frameworks.SvelteKit => "@sveltejs/kit",
        Frameworks.Astro => "astro",
        Frameworks.ReactRouter => "@react-router/dev",
        Frameworks.Remix => "@remix-run/dev",
        Frameworks.CreateReactApp => "react-scripts",
        Frameworks.VueCli => "@vue/cli-service",
        _ => name,
    };

    /// <summary>What next.config says about <c>output</c>: "export", "standalone" or null, and which file said it.</summary>
    public static (string? Mode, string? File) NextOutput(string root)
    {
        var file = First(root, NextConfigs);
        if (file is null) return (null, null);
        var match = NextOutputSetting().Match(File.ReadAllText(Path.Combine(root, file)));
        return (match.Success ? match.Groups[1].Value : null, file);
    }

    private static BuildSettings Next(string root, PackageInfo? package, string? install, string build, string? lockfile, string depends)
    {
        var (mode, file) = NextOutput(root);
        var config = file ?? "no next.config";
        if (mode == "export")
        {
            return new BuildSettings(Frameworks.NextJs, install, build, "out", lockfile)
            {
                Reason = $"{depends}; {file} sets output: 'export', so a static export (out)",
                BuildEnvironment = new Dictionary<string, string> { ["NODE_ENV"] = "production" },
            };
        }

        var environment = new Dictionary<string, string> { ["NODE_ENV"] = "production" };
        string how;
        if (mode == "standalone")
        {
            how = $"{file} sets output: 'standalone'";
        }
        else
        {
            // Next's own switch for its default output (config-shared's NEXT_PRIVATE_STANDALONE): a config that sets
            // output itself still wins. Without it the server would need all of node_modules (hundreds of MB).
            environment["NEXT_PRIVATE_STANDALONE"] = "true";
            how = $"{config} sets no output, so CloudDeck asks for the standalone output (NEXT_PRIVATE_STANDALONE)";
        }

        var start = package?.HasScript("start") == true ? "npm start" : "./node_modules/.bin/next start";
        return new BuildSettings(Frameworks.NextJs, install, build, ".", lockfile)
        {
            Reason = $"{depends}; {how}: a server",
            BuildEnvironment = environment,
            Packaging = ServerPackagings.NextStandalone,
            Server = new ServerSpec(start, Framework: Frameworks.NextJs)
            {
                // The standalone server.js listens on HOSTNAME, which a container sets to its own name.
                Environment = new Dictionary<string, string> { ["HOSTNAME"] = "0.0.0.0" },
                StaticRoutes = [new StaticRoute("/_next/static/", ".next/static/")],
            },
        };
    }

    private static BuildSettings Nuxt(PackageInfo? package, string? install, string build, string? lockfile, string depends)
    {
        var production = new Dictionary<string, string> { ["NODE_ENV"] = "production" };
        if (package?.Script("build") is { } script && Generate().IsMatch(script))
        {
            return new BuildSettings(Frameworks.Nuxt, install, build, ".output/public", lockfile)
            {
                Reason = $"{depends}; its build script runs nuxt generate: a static site (.output/public)",
                BuildEnvironment = production,
            };
        }

        return new BuildSettings(Frameworks.Nuxt, install, build, ".output", lockfile)
        {
            Reason = $"{depends}; its build writes a Nitro server (.output/server/index.mjs)",
            BuildEnvironment = production,
            Packaging = ServerPackagings.NuxtOutput,
            Server = new ServerSpec("node server/index.mjs", Framework: Frameworks.Nuxt)
            {
                Environment = new Dictionary<string, string> { ["HOST"] = "0.0.0.0", ["NITRO_HOST"] = "0.0.0.0" },
                // builds/latest.json names the newest build: it changes, so Nitro answers it with its own short caching.
                StaticRoutes = [new StaticRoute("/_nuxt/", "public/_nuxt/") { Except = ["builds/"] }],
            },
        };
    }

    private static BuildSettings SvelteKit(string root, PackageInfo? package, string? install, string build, string? lockfile, string depends)
    {
        var production = new Dictionary<string, string> { ["NODE_ENV"] = "production" };
        var file = First(root, SvelteConfigs);
        var text = file is null ? "" : File.ReadAllText(Path.Combine(root, file));
        var adapter = SvelteAdapter().Match(text) is { Success: true } named ? named.Groups[1].Value
            : new[] { "node", "static", "auto" }.FirstOrDefault(a => package?.Has("@sveltejs/adapter-" + a) == true);
        var source = file is not null && SvelteAdapter().IsMatch(text) ? file : "package.json";
        switch (adapter)
        {
            case "static":
                var pages = SveltePages().Match(text) is { Success: true } p ? p.Groups[1].Value : "build";
                return new BuildSettings(Frameworks.SvelteKit, install, build, pages, lockfile)
                {
                    Reason = $"{depends}; {source} uses @sveltejs/adapter-static: a static site ({pages})",
                    BuildEnvironment = production,
                };
            case "node":
                var output = SvelteOut().Match(text) is { Success: true } o ? o.Groups[1].Value : "build";
                return new BuildSettings(Frameworks.SvelteKit, install, build, ".", lockfile)
                {
                    Reason = $"{depends}; {source} uses @sveltejs/adapter-node: a server (node {output})",
                    BuildEnvironment = production,
                    Packaging = ServerPackagings.PrunedRoot,
                    Server = new ServerSpec($"node {output}", Framework: Frameworks.SvelteKit)
                    {
                        // The edge sets X-Forwarded-Proto and -Host itself (a client's are replaced), so every host a
                        // deployment answers on (its own, production, a preview, a custom domain) is its origin.
                        Environment = new Dictionary<string, string>
                        {
                            ["HOST"] = "0.0.0.0", ["PROTOCOL_HEADER"] = "x-forwarded-proto", ["HOST_HEADER"] = "x-forwarded-host",
                        },
                        StaticRoutes = [new StaticRoute("/_app/immutable/", $"{output}/client/_app/immutable/")],
                    },
                };
            default:
                throw new BuildStepFailedException(
                    $"SvelteKit with {(adapter is null ? "no adapter CloudDeck knows" : $"@sveltejs/adapter-{adapter}")} ({source}) has no output CloudDeck can run: " +
                    "use @sveltejs/adapter-node for a server or @sveltejs/adapter-static for a static site (adapter-auto finds no supported platform here).");
        }
    }

    private static BuildSettings Astro(string root, PackageInfo? package, string? install, string build, string? lockfile, string depends)
    {
        var production = new Dictionary<string, string> { ["NODE_ENV"] = "production" };
        var file = First(root, AstroConfigs);
        var text = file is null ? "" : File.ReadAllText(Path.Combine(root, file));
        var nodeAdapter = text.Contains("@astrojs/node", StringComparison.Ordinal);
        if (!nodeAdapter)
        {
            var why = package?.Has("@astrojs/node") == true ? $"@astrojs/node is installed but {file ?? "no astro.config"} does not use it" : "no @astrojs/node adapter";
            return new BuildSettings(Frameworks.Astro, install, build, "dist", lockfile) { Reason = $"{depends}; {why}: a static site (dist)", BuildEnvironment = production };
        }

        if (AstroMiddleware().IsMatch(text))
        {
            throw new BuildStepFailedException($"{file} uses @astrojs/node in middleware mode, which starts no server of its own: " +
                "use mode: 'standalone', or set the project's start command to the server that mounts it.");
        }

        return new BuildSettings(Frameworks.Astro, install, build, ".", lockfile)
        {
            Reason = $"{depends}; {file} uses the @astrojs/node adapter: a server (dist/server/entry.mjs)",
            BuildEnvironment = production,
            Packaging = ServerPackagings.PrunedRoot,
            Server = new ServerSpec("node ./dist/server/entry.mjs", Framework: Frameworks.Astro)
            {
                Environment = new Dictionary<string, string> { ["HOST"] = "0.0.0.0" },
                StaticRoutes = [new StaticRoute("/_astro/", "dist/client/_astro/")],
            },
        };
    }

    private static BuildSettings ReactRouter(string name, string root, PackageInfo? package, string? install, string? build, string? lockfile, string depends)
    {
        var production = new Dictionary<string, string> { ["NODE_ENV"] = "production" };
        build ??= name == Frameworks.ReactRouter ? "./node_modules/.bin/react-router build" : "./node_modules/.bin/remix vite:build";
        var file = First(root, ReactRouterConfigs);
        if (file is not null && NoServerRendering().IsMatch(File.ReadAllText(Path.Combine(root, file))))
        {
            return new BuildSettings(name, install, build, "build/client", lockfile)
            {
                Reason = $"{depends}; {file} sets ssr: false: a static single-page app (build/client)",
                BuildEnvironment = production,
            };
        }

        var serve = name == Frameworks.ReactRouter ? "react-router-serve" : "remix-serve";
        var start = package?.HasScript("start") == true ? "npm start" : $"./node_modules/.bin/{serve} ./build/server/index.js";
        return new BuildSettings(name, install, build, ".", lockfile)
        {
            Reason = $"{depends}; server rendering ({start})",
            BuildEnvironment = production,
            Packaging = ServerPackagings.PrunedRoot,
            Server = new ServerSpec(start, Framework: name)
            {
                Environment = new Dictionary<string, string> { ["HOST"] = "0.0.0.0" },
                StaticRoutes = [new StaticRoute("/assets/", "build/client/assets/")],
            },
        };
    }

    private static string? First(string root, string[] names) => names.FirstOrDefault(name => File.Exists(Path.Combine(root, name)));

    [GeneratedRegex("""output\s*:\s*["'`](export|standalone)["'`]""")]
    private static partial Regex NextOutputSetting();

    [GeneratedRegex(@"\b(nuxt|nuxi)\s+generate\b")]
    private static partial Regex Generate();

    [GeneratedRegex("""["']@sveltejs/adapter-([a-z-]+)["']""")]
    private static partial Regex SvelteAdapter();

    [GeneratedRegex("""\bpages\s*:\s*["'`]([A-Za-z0-9_./-]+)["'`]""")]
    private static partial Regex SveltePages();

    [GeneratedRegex("""\bout\s*:\s*["'`]([A-Za-z0-9_./-]+)["'`]""")]
    private static partial Regex SvelteOut();

    [GeneratedRegex("""mode\s*:\s*["'`]middleware["'`]""")]
    private static partial Regex AstroMiddleware();

    [GeneratedRegex(@"\bssr\s*:\s*false\b")]
    private static partial Regex NoServerRendering();
}
