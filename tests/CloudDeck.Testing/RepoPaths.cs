namespace CloudDeck.Testing;

/// <summary>
/// Where things are in the checkout, so end-to-end tests can launch the silo/API/CLI that the same
/// build produced instead of rebuilding them (a nested `dotnet run` would cost minutes on CI).
/// </summary>
public static class RepoPaths
{
    // The SDK 10 `dotnet new sln` writes .slnx; accept either so the marker survives that switch.
    private static readonly string[] Markers = ["Actors.sln", "Actors.slnx"];

    private static readonly Lazy<string> LazyRoot = new(() =>
        FindRoot(AppContext.BaseDirectory)
        ?? throw new DirectoryNotFoundException(
            $"No directory containing {string.Join(" or ", Markers)} above {AppContext.BaseDirectory}."));

    /// <summary>The repository root: the nearest ancestor of the test binaries that holds Actors.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>Debug or Release: whatever configuration the running test assembly was built in.</summary>
    public static string BuildConfiguration => OutputSegments(AppContext.BaseDirectory).Configuration;

    /// <summary>The target framework folder of the running test assembly (net10.0).</summary>
    public static string TargetFramework => OutputSegments(AppContext.BaseDirectory).TargetFramework;

    public static string? FindRoot(string startDirectory)
    {
        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            if (Markers.Any(m => File.Exists(Path.Combine(dir.FullName, m)))) return dir.FullName;
        }
        return null;
    }

    /// <summary>e.g. ProjectOutput("api", "CloudDeck.Api") → &lt;root&gt;/api/bin/Release/net10.0/CloudDeck.Api.dll.</summary>
    public static string ProjectOutput(string projectDir, string assemblyName)
    {
        var file = assemblyName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? assemblyName : assemblyName + ".dll";
        return Path.Combine(Root, projectDir, "bin", BuildConfiguration, TargetFramework, file);
    }

    /// <summary>Reads …/bin/&lt;Config&gt;/&lt;tfm&gt;/ from the end of an output path.</summary>
    internal static (string Configuration, string TargetFramework) OutputSegments(string baseDirectory)
    {
        var parts = baseDirectory.Split(
            [Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        // The last "bin" wins: a checkout may itself live under some .../bin/... directory.
        var bin = Array.LastIndexOf(parts, "bin");
        if (bin >= 0 && bin + 2 < parts.Length) return (parts[bin + 1], parts[bin + 2]);
        var fallback = Environment.GetEnvironmentVariable("CONFIGURATION");
        return (string.IsNullOrEmpty(fallback) ? "Debug" : fallback, "net10.0");
    }

    /// <summary>The dotnet host that runs the tests (DOTNET_HOST_PATH under `dotnet test`), for starting built projects.</summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
