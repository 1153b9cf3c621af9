using System.Diagnostics;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>One Node.js of the machine: its version and bin directory (null: the one on the default PATH).</summary>
public sealed record NodeInstall(string Version, string? BinDirectory, string Path)
{
    public int Major => int.Parse(Version.TrimStart('v').Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The Node.js a build (and its server) runs with, and why.</summary>
public sealed record NodeChoice(NodeInstall Install, string Reason);

/// <summary>
/// Picks the Node.js a project asks for (<c>.nvmrc</c> or <c>.node-version</c>, else <c>engines.node</c>) among the
/// machine's: the one on the default PATH and each <c>CloudDeck:Builds:NodeInstalls</c> directory (a Node prefix with
/// <c>bin/node</c>, as its tarball unpacks). The default wins when it fits, else the newest that does; a request none
/// fits fails the build naming what was asked and what there is. Versions are asked once per directory.
/// </summary>
public sealed class NodeVersions(IReadOnlyList<string> installDirectories, string searchPath)
{
    private readonly Lazy<Task<IReadOnlyList<NodeInstall>>> _installs = new(() => Task.Run(() => FindAsync(installDirectories, searchPath)));

    public Task<IReadOnlyList<NodeInstall>> InstallsAsync() => _installs.Value;

    /// <summary>What the project asks for, and where it said so; null when it asks for nothing in particular.</summary>
    public static (string Range, string Source)? Request(string root, PackageInfo? package)
    {
        foreach (var file in new[] { ".nvmrc", ".node-version" })
        {
            var path = System.IO.Path.Combine(root, file);
            if (!File.Exists(path)) continue;
            var text = File.ReadLines(path).Select(l => l.Split('#')[0].Trim()).FirstOrDefault(l => l.Length > 0);
            if (text is null) continue;
            // nvm's aliases name "a current one": any Node of the machine will do.
            if (text is "node" or "stable" or "current" || text.StartsWith("lts", StringComparison.OrdinalIgnoreCase)) return null;
            return (text.TrimStart('v'), file);
        }

        return package?.NodeEngine is { Length: > 0 } engine ? (engine, "package.json engines.node") : null;
    }

    /// <exception cref="BuildStepFailedException">The project asks for a Node.js this machine does not have, or for none it can read.</exception>
    public async Task<NodeChoice> ChooseAsync(string root, PackageInfo? package)
    {
        var installs = await InstallsAsync();
        if (installs.Count == 0) throw new BuildStepFailedException("No Node.js found on this machine (node on PATH, CloudDeck:Builds:NodeInstalls).");
        var fallback = installs[0];
        if (Request(root, package) is not { } request) return new NodeChoice(fallback, "the machine's default (the project asks for no version)");

        List<NodeInstall> fitting;
        try
        {
            fitting = [.. installs.Where(i => NodeRange.Satisfies(request.Range, i.Version))];
        }
        catch (FormatException)
        {
            throw new BuildStepFailedException($"{request.Source} asks for Node.js '{request.Range}', which is not a version or range (e.g. 20, >=20.9, ^22).");
        }

        var available = string.Join(", ", installs.Select(i => $"{i.Version} ({i.Path})"));
        var chosen = fitting.Contains(fallback) ? fallback : fitting.OrderByDescending(i => Version.Parse(i.Version)).FirstOrDefault();
        if (chosen is null)
        {
            throw new BuildStepFailedException($"{request.Source} asks for Node.js '{request.Range}', which this machine does not have: it has {available}. " +
                "Change the request, or ask the operator to add that Node.js (CloudDeck:Builds:NodeInstalls).");
        }

        return new NodeChoice(chosen, $"{request.Source} asks for '{request.Range}'");
    }

    private static async Task<IReadOnlyList<NodeInstall>> FindAsync(IReadOnlyList<string> directories, string searchPath)
    {
        var found = new List<NodeInstall>();
        var onPath = searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => System.IO.Path.Combine(d, "node")).FirstOrDefault(File.Exists);
        if (onPath is not null && await VersionOfAsync(onPath) is { } version) found.Add(new NodeInstall(version, null, onPath));
        foreach (var directory in directories)
        {
            var node = System.IO.Path.Combine(directory, "bin", "node");
            if (File.Exists(node) && await VersionOfAsync(node) is { } other) found.Add(new NodeInstall(other, System.IO.Path.GetDirectoryName(node), node));
        }

        return found;
    }

    private static async Task<string?> VersionOfAsync(string node)
    {
        try
        {
            var info = new ProcessStartInfo(node, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.Environment.Clear();
            using var process = Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            var version = output.Trim().TrimStart('v');
            return process.ExitCode == 0 && Version.TryParse(version, out _) ? version : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
