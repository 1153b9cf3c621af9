using System.Text.Json;
using System.Text.RegularExpressions;
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
    public const string CreateReactApp = "create-react-app";
    public const string VueCli = "vue";
    public const string Prebuilt = "prebuilt";
    public const string Other = "other";

    // Server apps: a process runs behind the edge instead of the edge serving files.
    public const string Node = "node";
    public const string Python = "python";
    public const string DotNet = "dotnet";

    public static readonly IReadOnlyList<string> All = [Static, Vite, Astro, NextJs, CreateReactApp, VueCli, Prebuilt, Other, Node, Python, DotNet];

    public static bool IsServer(string name) => name is Node or Python or DotNet;

    public static bool IsValid(string? name) => name is not null && All.Contains(name);
}

/// <summary>What a build runs: null commands are skipped; <see cref="OutputDirectory"/> is relative to the project root.</summary>
/// <param name="GuessOutput">
/// "Other" projects that name no output directory: it is looked for after the build (the first of dist, build, out
/// and public that exists, else the root), since only the build knows where it writes.
/// </param>
/// <param name="Server">
/// Set for a server app: the whole built project root is deployed and this command runs it; null for a static site.
/// </param>
public sealed record BuildSettings(string Framework, string? InstallCommand, string? BuildCommand, string OutputDirectory, string? Lockfile,
    bool GuessOutput = false, ServerSpec? Server = null)
{
    private static readonly string[] Conventional = ["dist", "build", "out", "public"];

    /// <summary>The output directory, relative to the project root, once the build has run.</summary>
    public string OutputAfterBuild(string root) =>
        GuessOutput ? Conventional.FirstOrDefault(d => Directory.Exists(Path.Combine(root, d))) ?? "." : OutputDirectory;
}

/// <summary>
/// Works out how to build a project from its files, with the defaults each framework documents; a project's own
/// settings win field by field. Dependencies decide between frameworks (Astro and Vue CLI projects may also list
/// Vite, so the more specific ones are asked first).
/// </summary>
public static partial class FrameworkDetector
{
    /// <summary>Where Python dependencies are installed (pip --target) and found at run time (PYTHONPATH).</summary>
    public const string PythonPackages = ".python_packages";

    /// <summary>Where a .NET web project is published to, inside the deployed project root.</summary>
    public const string DotNetPublish = "publish";

    public static BuildSettings Detect(string root, string? framework = null, string? installCommand = null,
        string? buildCommand = null, string? outputDirectory = null, string? startCommand = null, string? healthCheckPath = null)
    {
        var detected = DetectStatic(root, framework, installCommand, buildCommand, outputDirectory, startCommand);
        if (!Frameworks.IsServer(detected.Framework) && Blank(startCommand)) return detected;

        // A server deploys its whole built root and runs; the static output directory means nothing to it.
        var health = Blank(healthCheckPath) ? "/" : healthCheckPath!;
        var start = Blank(startCommand) ? DefaultStart(root, detected.Framework) : startCommand!;
        return detected with { OutputDirectory = ".", GuessOutput = false, Server = new ServerSpec(start, health, Framework: detected.Framework) };
    }

    private static string DefaultStart(string root, string framework) => framework switch
    {
        Frameworks.Node => "npm start",
        Frameworks.DotNet when WebProject(root) is { } project =>
            $"ASPNETCORE_URLS=http://0.0.0.0:$PORT exec dotnet {DotNetPublish}/{AssemblyName(project)}.dll",
        Frameworks.DotNet => throw new BuildStepFailedException("Framework dotnet needs a web project (a .csproj with Sdk=\"Microsoft.NET.Sdk.Web\") in the root directory."),
        _ => throw new BuildStepFailedException($"A {framework} server needs a start command (the project's start_command setting)."),
    };

    private static BuildSettings DetectStatic(string root, string? framework, string? installCommand, string? buildCommand,
        string? outputDirectory, string? startCommand)
    {
        var package = ReadPackage(root);
        var lockfile = new[] { "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml" }
            .FirstOrDefault(name => File.Exists(Path.Combine(root, name)));
        var name = Frameworks.IsValid(framework) ? framework! : DetectName(root, package, startCommand);
        var install = package is null ? null : DefaultInstall(lockfile);
        var run = lockfile switch { "yarn.lock" => "yarn", "pnpm-lock.yaml" => "pnpm", _ => "npm" };
        var build = package?.HasBuildScript == true ? $"{run} run build" : null;
        var defaults = name switch
        {
            Frameworks.Vite or Frameworks.Astro or Frameworks.VueCli => new BuildSettings(name, install, build, "dist", lockfile),
            Frameworks.NextJs => new BuildSettings(name, install, build, "out", lockfile),
            Frameworks.CreateReactApp => new BuildSettings(name, install, build, "build", lockfile),
            Frameworks.Prebuilt => new BuildSettings(name, null, null, "public", lockfile),
            Frameworks.Static => new BuildSettings(name, null, null, ".", lockfile),
            Frameworks.Node => new BuildSettings(name, install, build, ".", lockfile),
            Frameworks.Python => new BuildSettings(name, File.Exists(Path.Combine(root, "requirements.txt"))
                ? $"python3 -m pip install --no-cache-dir --disable-pip-version-check --target {PythonPackages} -r requirements.txt" : null, null, ".", null),
            Frameworks.DotNet => new BuildSettings(name, null, WebProject(root) is { } project
                ? $"dotnet publish {Path.GetFileName(project)} -c Release -o {DotNetPublish}" : null, ".", null),
            _ => new BuildSettings(Frameworks.Other, install, build, ".", lockfile, GuessOutput: true),
        };

        return defaults with
        {
            InstallCommand = Blank(installCommand) ? defaults.InstallCommand : installCommand,
            BuildCommand = Blank(buildCommand) ? defaults.BuildCommand : buildCommand,
            OutputDirectory = Blank(outputDirectory) ? defaults.OutputDirectory : outputDirectory!,
            GuessOutput = defaults.GuessOutput && Blank(outputDirectory),
        };
    }

    /// <summary>True when a Next.js config asks for a static export (<c>output: 'export'</c>), the only kind the edge can serve.</summary>
    public static bool IsNextStaticExport(string root) =>
        new[] { "next.config.js", "next.config.mjs", "next.config.ts", "next.config.cjs" }
            .Select(name => Path.Combine(root, name))
            .Any(path => File.Exists(path) && NextExport().IsMatch(File.ReadAllText(path)));

    private static string DetectName(string root, PackageInfo? package, string? startCommand)
    {
        if (package is not null)
        {
            if (package.Has("next")) return Frameworks.NextJs;
            if (package.Has("astro")) return Frameworks.Astro;
            if (package.Has("react-scripts")) return Frameworks.CreateReactApp;
            if (package.Has("@vue/cli-service")) return Frameworks.VueCli;
            if (package.Has("vite")) return Frameworks.Vite;
            // No static framework writes an output: a start script means the package is a server.
            return package.HasStartScript ? Frameworks.Node : Frameworks.Other;
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

    private static PackageInfo? ReadPackage(string root)
    {
        var path = Path.Combine(root, "package.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var section in new[] { "dependencies", "devDependencies" })
            {
                if (document.RootElement.TryGetProperty(section, out var deps) && deps.ValueKind == JsonValueKind.Object)
                {
                    foreach (var dep in deps.EnumerateObject()) names.Add(dep.Name);
                }
            }

            var scripts = document.RootElement.TryGetProperty("scripts", out var found) && found.ValueKind == JsonValueKind.Object ? found : default;
            bool HasScript(string script) => scripts.ValueKind == JsonValueKind.Object
                && scripts.TryGetProperty(script, out var text) && text.ValueKind == JsonValueKind.String;
            return new PackageInfo(names, HasScript("build"), HasScript("start"));
        }
        catch (JsonException)
        {
            // npm itself will say what is wrong with it, in the log; detection just learns nothing from it.
            return new PackageInfo([], false, false);
        }
    }

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

    private sealed record PackageInfo(HashSet<string> Dependencies, bool HasBuildScript, bool HasStartScript)
    {
        public bool Has(string name) => Dependencies.Contains(name);
    }

    [GeneratedRegex("""output\s*:\s*["'`]export["'`]""")]
    private static partial Regex NextExport();
}
