using System.Xml.Linq;
using CloudDeck.GrainInterfaces.Servers;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>The framework names a project's <c>framework</c> setting may take.</summary>
public static class Frameworks
{
    public const string Static = "static";
    public const string Vite = "vite";
    public const string Astro = "astro";
    public const string NextJs = "nextjs";
    public const string Nuxt = "nuxt";
    public const string SvelteKit = "sveltekit";
    public const string ReactRouter = "react-router";
    public const string Remix = "remix";
    public const string CreateReactApp = "create-react-app";
    public const string VueCli = "vue";
    public const string Prebuilt = "prebuilt";
    public const string Other = "other";

    // Server apps: a process runs behind the edge instead of the edge serving files.
    public const string Node = "node";
    public const string Python = "python";
    public const string DotNet = "dotnet";

    public static readonly IReadOnlyList<string> All =
        [Static, Vite, Astro, NextJs, Nuxt, SvelteKit, ReactRouter, Remix, CreateReactApp, VueCli, Prebuilt, Other, Node, Python, DotNet];

    /// <summary>Always servers. Next.js, Nuxt, SvelteKit, Astro and React Router are either, by their configuration.</summary>
    public static bool IsServer(string name) => name is Node or Python or DotNet;

    public static bool IsValid(string? name) => name is not null && All.Contains(name);
}

/// <summary>How a server's built project becomes what is deployed (<see cref="ServerPackager"/>).</summary>
public static class ServerPackagings
{
    /// <summary>The project root with production dependencies only (<c>npm prune --omit=dev</c>).</summary>
    public const string PrunedRoot = "pruned-root";

    /// <summary>Next's <c>.next/standalone</c> when the build wrote it, else the pruned root with <c>next start</c>.</summary>
    public const string NextStandalone = "next-standalone";

    /// <summary>Nuxt's self-contained <c>.output</c> (its server bundles its own dependencies).</summary>
    public const string NuxtOutput = "nuxt-output";

    /// <summary>The root as built (Python, .NET, a project's own start command): nothing is pruned.</summary>
    public const string Root = "root";
}

/// <summary>What a build runs: null commands are skipped; <see cref="OutputDirectory"/> is relative to the project root.</summary>
/// <param name="GuessOutput">
/// "Other" projects that name no output directory: it is looked for after the build (the first of dist, build, out
/// and public that exists, else the root), since only the build knows where it writes.
/// </param>
/// <param name="Server">
/// Set for a server app: what is deployed (<see cref="Packaging"/>) runs with this command; null for a static site.
/// </param>
public sealed record BuildSettings(string Framework, string? InstallCommand, string? BuildCommand, string OutputDirectory, string? Lockfile,
    bool GuessOutput = false, ServerSpec? Server = null)
{
    private static readonly string[] Conventional = ["dist", "build", "out", "public"];

    /// <summary>Why the framework and its mode were chosen, for the build log ("package.json depends on next; ...").</summary>
    public string Reason { get; init; } = "";

    /// <summary>For a server: <see cref="ServerPackagings"/>.</summary>
    public string? Packaging { get; init; }

    /// <summary>Variables the framework's build expects (NODE_ENV, Next's standalone switch); the project's own win.</summary>
    public IReadOnlyDictionary<string, string> BuildEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>The output directory, relative to the project root, once the build has run.</summary>
    public string OutputAfterBuild(string root) =>
        GuessOutput ? Conventional.FirstOrDefault(d => Directory.Exists(Path.Combine(root, d))) ?? "." : OutputDirectory;
}

/// <summary>A project's own choices, from its settings or its <c>clouddeck.json</c>; null fields leave detection to decide.</summary>
public sealed record BuildOverrides(string? Framework = null, string? InstallCommand = null, string? BuildCommand = null,
    string? OutputDirectory = null, string? StartCommand = null, string? HealthCheckPath = null);

/// <summary>
/// Works out how to build a project from what it is, with the defaults each framework documents: its dependencies say
/// which framework (the more specific ones asked first: Astro and Vue CLI projects also list Vite), its configuration
/// says whether it is a static site or a server (Next's <c>output</c>, SvelteKit's and Astro's adapter, Nuxt's
/// generate). A project's own settings win field by field, and <see cref="BuildSettings.Reason"/> says what decided.
/// </summary>
public static class FrameworkDetector
{
    /// <summary>Where Python dependencies are installed (pip --target) and found at run time (PYTHONPATH).</summary>
    public const string PythonPackages = ".python_packages";

    /// <summary>Where a .NET web project is published to, inside the deployed project root.</summary>
    public const string DotNetPublish = "publish";

    public static BuildSettings Detect(string root, string? framework = null, string? installCommand = null,
        string? buildCommand = null, string? outputDirectory = null, string? startCommand = null, string? healthCheckPath = null) =>
        Detect(root, new BuildOverrides(framework, installCommand, buildCommand, outputDirectory, startCommand, healthCheckPath));

    /// <exception cref="BuildStepFailedException">The project is a kind CloudDeck cannot run as it is configured; the message says what to change.</exception>
    public static BuildSettings Detect(string root, BuildOverrides overrides)
    {
        var package = PackageInfo.Read(root);
        var lockfile = new[] { "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml" }
            .FirstOrDefault(name => File.Exists(Path.Combine(root, name)));
        var chosen = Frameworks.IsValid(overrides.Framework);
        var name = chosen ? overrides.Framework! : DetectName(root, package, overrides.StartCommand);
        var install = package is null ? null : DefaultInstall(lockfile);
        var run = lockfile switch { "yarn.lock" => "yarn", "pnpm-lock.yaml" => "pnpm", _ => "npm" };
        var build = package?.HasScript("build") == true ? $"{run} run build" : null;
        var defaults = JavaScriptFrameworks.Plan(name, root, package, install, build, lockfile)
            ?? OtherPlan(name, root, package, install, build, lockfile, overrides.StartCommand);
        var reason = !chosen ? defaults.Reason
            : defaults.Reason.Length == 0 ? $"the project's framework setting is {name}"
            : $"the project's framework setting is {name}; {defaults.Reason}";

        var settings = defaults with
        {
            InstallCommand = Blank(overrides.InstallCommand) ? defaults.InstallCommand : overrides.InstallCommand,
            BuildCommand = Blank(overrides.BuildCommand) ? defaults.BuildCommand : overrides.BuildCommand,
            OutputDirectory = Blank(overrides.OutputDirectory) ? defaults.OutputDirectory : overrides.OutputDirectory!,
            GuessOutput = defaults.GuessOutput && Blank(overrides.OutputDirectory),
            Reason = reason,
        };

        var health = Blank(overrides.HealthCheckPath) ? "/" : overrides.HealthCheckPath!;
        if (!Blank(overrides.StartCommand))
        {
            // The project's own start command: it runs from the root as built, whatever the framework would have deployed.
            var packaging = package is null ? ServerPackagings.Root : ServerPackagings.PrunedRoot;
            return settings with
            {
                OutputDirectory = ".", GuessOutput = false, Packaging = packaging,
                Server = new ServerSpec(overrides.StartCommand!, health, Framework: name) { Environment = settings.Server?.Environment },
                Reason = settings.Reason + "; the project's start command makes it a server",
            };
        }

        if (settings.Server is null && Frameworks.IsServer(name))
        {
            settings = settings with { Server = new ServerSpec(DefaultStart(root, name), Framework: name), Packaging = settings.Packaging ?? ServerPackagings.Root };
        }

        return settings.Server is null ? settings : settings with { Server = settings.Server with { HealthCheckPath = health } };
    }

    private static string DefaultStart(string root, string framework) => framework switch
    {
        Frameworks.Node => "npm start",
        Frameworks.DotNet when WebProject(root) is { } project =>
            $"ASPNETCORE_URLS=http://0.0.0.0:$PORT exec dotnet {DotNetPublish}/{AssemblyName(project)}.dll",
        Frameworks.DotNet => throw new BuildStepFailedException("Framework dotnet needs a web project (a .csproj with Sdk=\"Microsoft.NET.Sdk.Web\") in the root directory."),
        _ => throw new BuildStepFailedException($"A {framework} server needs a start command (the project's start_command setting)."),
    };

    private static BuildSettings OtherPlan(string name, string root, PackageInfo? package, string? install, string? build, string? lockfile, string? startCommand) => name switch
    {
        Frameworks.Prebuilt => new BuildSettings(name, null, null, "public", lockfile) { Reason = "public/index.html is committed (a site built before the push)" },
        Frameworks.Static => new BuildSettings(name, null, null, ".", lockfile) { Reason = "index.html in the root and no package.json" },
        Frameworks.Node => new BuildSettings(name, install, build, ".", lockfile)
        {
            Packaging = ServerPackagings.PrunedRoot,
            Server = new ServerSpec("npm start", Framework: name),
            Reason = "package.json has a start script and no framework CloudDeck builds otherwise" + (package?.ServerLibrary() is { } library ? $" (depends on {library})" : ""),
        },
        Frameworks.Python => new BuildSettings(name, File.Exists(Path.Combine(root, "requirements.txt"))
            ? $"python3 -m pip install --no-cache-dir --disable-pip-version-check --target {PythonPackages} -r requirements.txt" : null, null, ".", null)
        {
            Packaging = ServerPackagings.Root,
            Reason = Blank(startCommand) ? "" : "requirements.txt and a start command",
        },
        Frameworks.DotNet => new BuildSettings(name, null, WebProject(root) is { } project
            ? $"dotnet publish {Path.GetFileName(project)} -c Release -o {DotNetPublish}" : null, ".", null)
        {
            Packaging = ServerPackagings.Root,
            Reason = WebProject(root) is { } web ? $"{Path.GetFileName(web)} uses Microsoft.NET.Sdk.Web" : "",
        },
        _ => new BuildSettings(Frameworks.Other, install, build, ".", lockfile, GuessOutput: true)
        {
            Reason = package is null ? "no package.json, index.html or project file CloudDeck knows" : "package.json names no framework CloudDeck knows and has no start script",
        },
    };

    /// <summary>True when a Next.js config asks for a static export (<c>output: 'export'</c>).</summary>
    public static bool IsNextStaticExport(string root) => JavaScriptFrameworks.NextOutput(root).Mode == "export";

    private static string DetectName(string root, PackageInfo? package, string? startCommand)
    {
        if (package is not null)
        {
            if (JavaScriptFrameworks.Detect(package) is { } javascript) return javascript;
            // No static framework writes an output: a start script means the package is a server.
            return package.HasScript("start") ? Frameworks.Node : Frameworks.Other;
        }

        if (WebProject(root) is not null) return Frameworks.DotNet;
        // Python has no start convention: requirements.txt makes a server only with the command that starts it.
        if (File.Exists(Path.Combine(root, "requirements.txt")) && !Blank(startCommand)) return Frameworks.Python;

        if (File.Exists(Path.Combine(root, "index.html"))) return Frameworks.Static;
        // Hugo, Jekyll and friends built locally and committed their output.
        if (File.Exists(Path.Combine(root, "public", "index.html"))) return Frameworks.Prebuilt;
        return Frameworks.Other;
    }

    // npm: `npm install`, as Vercel and Netlify run it. It installs what the lockfile pins, yet accepts a lockfile
    // that lacks optional packages for other platforms (npm leaves out those its registry does not serve, e.g.
    // rollup's native builds behind a partial mirror), which `npm ci` refuses outright.
    private static string DefaultInstall(string? lockfile) => lockfile switch
    {
        "package-lock.json" or "npm-shrinkwrap.json" => "npm install --no-audit --no-fund",
        "yarn.lock" => "yarn install --frozen-lockfile",
        "pnpm-lock.yaml" => "pnpm install --frozen-lockfile",
        _ => "npm install",
    };

    private static bool Blank(string? value) => string.IsNullOrWhiteSpace(value);

    /// <summary>The first .csproj of the root that uses the Web SDK (an ASP.NET Core app), or null.</summary>
    private static string? WebProject(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*.csproj").Order(StringComparer.Ordinal).FirstOrDefault(IsWebProject)
            : null;

    private static bool IsWebProject(string path)
    {
        try
        {
            return string.Equals(XDocument.Load(path).Root?.Attribute("Sdk")?.Value, "Microsoft.NET.Sdk.Web", StringComparison.OrdinalIgnoreCase);
        }
        catch (System.Xml.XmlException)
        {
            return false;
        }
    }

    /// <summary>The assembly a publish writes: the project's AssemblyName, else its file name.</summary>
    private static string AssemblyName(string project)
    {
        var declared = XDocument.Load(project).Descendants("AssemblyName").Select(e => e.Value.Trim()).FirstOrDefault(v => v.Length > 0);
        return declared ?? Path.GetFileNameWithoutExtension(project);
    }
}
