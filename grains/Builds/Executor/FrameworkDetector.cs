using System.Text.Json;
using System.Text.RegularExpressions;

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

    public static readonly IReadOnlyList<string> All = [Static, Vite, Astro, NextJs, CreateReactApp, VueCli, Prebuilt, Other];

    public static bool IsValid(string? name) => name is not null && All.Contains(name);
}

/// <summary>What a build runs: null commands are skipped; <see cref="OutputDirectory"/> is relative to the project root.</summary>
/// <param name="GuessOutput">
/// "Other" projects that name no output directory: it is looked for after the build (the first of dist, build, out
/// and public that exists, else the root), since only the build knows where it writes.
/// </param>
public sealed record BuildSettings(string Framework, string? InstallCommand, string? BuildCommand, string OutputDirectory, string? Lockfile,
    bool GuessOutput = false)
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
    public static BuildSettings Detect(string root, string? framework = null, string? installCommand = null,
        string? buildCommand = null, string? outputDirectory = null)
    {
        var package = ReadPackage(root);
        var lockfile = new[] { "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml" }
            .FirstOrDefault(name => File.Exists(Path.Combine(root, name)));
        var name = Frameworks.IsValid(framework) ? framework! : DetectName(root, package);
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

    private static string DetectName(string root, PackageInfo? package)
    {
        if (package is not null)
        {
            if (package.Has("next")) return Frameworks.NextJs;
            if (package.Has("astro")) return Frameworks.Astro;
            if (package.Has("react-scripts")) return Frameworks.CreateReactApp;
            if (package.Has("@vue/cli-service")) return Frameworks.VueCli;
            if (package.Has("vite")) return Frameworks.Vite;
            return Frameworks.Other;
        }

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

            var hasBuild = document.RootElement.TryGetProperty("scripts", out var scripts) && scripts.ValueKind == JsonValueKind.Object
                && scripts.TryGetProperty("build", out var script) && script.ValueKind == JsonValueKind.String;
            return new PackageInfo(names, hasBuild);
        }
        catch (JsonException)
        {
            // npm itself will say what is wrong with it, in the log; detection just learns nothing from it.
            return new PackageInfo([], false);
        }
    }

    private sealed record PackageInfo(HashSet<string> Dependencies, bool HasBuildScript)
    {
        public bool Has(string name) => Dependencies.Contains(name);
    }

    [GeneratedRegex("""output\s*:\s*["'`]export["'`]""")]
    private static partial Regex NextExport();
}
