using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Artifacts;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// Stores a build's output directory in the artifact store and lists it as a manifest. Symbolic links are skipped:
/// a build could point one at any file of the server (<c>ln -s /etc/passwd dist/x</c>), and the edge serves what is listed.
/// </summary>
public static class OutputCollector
{
    /// <summary>Never deployed when the output is the project root itself (plain static sites).</summary>
    private static readonly HashSet<string> RootExclusions = new(StringComparer.Ordinal) { ".git", "node_modules", ".clouddeck" };

    /// <summary>A server runs from its root and needs its installed dependencies; only the repository and our own files stay behind.</summary>
    private static readonly HashSet<string> ServerRootExclusions = new(StringComparer.Ordinal) { ".git", ".clouddeck" };

    /// <param name="isServer">The output is a server's project root: node_modules is deployed with it.</param>
    public static async Task<IReadOnlyList<ManifestFile>> CollectAsync(string output, bool isProjectRoot, IArtifactStore store,
        BuildLogWriter log, CancellationToken cancellationToken, bool isServer = false)
    {
        var exclusions = isServer ? ServerRootExclusions : RootExclusions;
        var files = new List<ManifestFile>();
        var pending = new Stack<(DirectoryInfo Directory, string Prefix)>();
        pending.Push((new DirectoryInfo(output), ""));
        var skippedLinks = 0;
        while (pending.TryPop(out var current))
        {
            foreach (var entry in current.Directory.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (current.Prefix.Length == 0 && isProjectRoot && exclusions.Contains(entry.Name)) continue;
                if (entry.LinkTarget is not null)
                {
                    skippedLinks++;
                    continue;
                }

                var path = current.Prefix + entry.Name;
                if (entry is DirectoryInfo directory)
                {
                    pending.Push((directory, path + "/"));
                }
                else if (entry is FileInfo file)
                {
                    var hash = await store.PutFileAsync(file.FullName, cancellationToken);
                    files.Add(new ManifestFile(path, hash, file.Length));
                }
            }
        }

        if (skippedLinks > 0) log.System($"Skipped {skippedLinks} symbolic link(s) in the output: only regular files are deployed.");
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    /// <summary>
    /// The output of an upload that no command touched: the uploaded files under <paramref name="outputPrefix"/> (the
    /// output directory relative to the source, "." for the source itself), with the hashes the store already checked on
    /// upload, so nothing is read, hashed or copied a second time. Same exclusions and order as <see cref="CollectAsync"/>.
    /// </summary>
    public static IReadOnlyList<ManifestFile> FromUpload(IReadOnlyList<ManifestFile> uploaded, string outputPrefix, bool isProjectRoot, bool isServer = false)
    {
        var exclusions = isServer ? ServerRootExclusions : RootExclusions;
        var prefix = outputPrefix is "." or "" ? "" : outputPrefix.TrimEnd('/') + "/";
        var files = new List<ManifestFile>();
        foreach (var file in uploaded)
        {
            if (!file.Path.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var path = file.Path[prefix.Length..];
            var slash = path.IndexOf('/', StringComparison.Ordinal);
            if (isProjectRoot && exclusions.Contains(slash < 0 ? path : path[..slash])) continue;
            files.Add(file with { Path = path });
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }
}
