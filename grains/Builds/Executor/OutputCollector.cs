using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Artifacts;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>A build's output as stored: the files, and for a server its symbolic links and executable files.</summary>
public sealed record CollectedOutput(IReadOnlyList<ManifestFile> Files, IReadOnlyList<ManifestLink> Links, IReadOnlyList<string> Executables)
{
    public long Bytes => Files.Sum(f => f.Size);
}

/// <summary>
/// Stores a build's output directory in the artifact store and lists it as a manifest. A static site's symbolic links
/// are skipped: a build could point one at any file of the server (<c>ln -s /etc/passwd dist/x</c>), and the edge serves
/// what is listed. A server's links are kept as links (never followed: only their target text is read), because
/// <c>node_modules/.bin</c> is made of them; one whose target leaves the output fails the build, naming it.
/// </summary>
public static class OutputCollector
{
    /// <summary>Never deployed when the output is the project root itself (plain static sites).</summary>
    private static readonly HashSet<string> RootExclusions = new(StringComparer.Ordinal) { ".git", "node_modules", ".clouddeck" };

    /// <summary>A server runs from its root and needs its installed dependencies; only the repository and our own files stay behind.</summary>
    private static readonly HashSet<string> ServerRootExclusions = new(StringComparer.Ordinal) { ".git", ".clouddeck" };

    private const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <param name="isServer">The output is a server's: node_modules is deployed with it, links and execute bits are kept.</param>
    /// <exception cref="BuildStepFailedException">A server's link points outside the output.</exception>
    public static async Task<CollectedOutput> CollectAsync(string output, bool isProjectRoot, IArtifactStore store,
        BuildLogWriter log, CancellationToken cancellationToken, bool isServer = false)
    {
        var exclusions = isServer ? ServerRootExclusions : RootExclusions;
        var files = new List<ManifestFile>();
        var found = new List<(string Path, FileInfo File)>();
        var links = new List<ManifestLink>();
        var executables = new List<string>();
        var pending = new Stack<(DirectoryInfo Directory, string Prefix)>();
        pending.Push((new DirectoryInfo(output), ""));
        var skippedLinks = 0;
        while (pending.TryPop(out var current))
        {
            foreach (var entry in current.Directory.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (current.Prefix.Length == 0 && isProjectRoot && exclusions.Contains(entry.Name)) continue;
                var path = current.Prefix + entry.Name;
                if (entry.LinkTarget is { } target)
                {
                    if (isServer) links.Add(new ManifestLink(path, target));
                    else skippedLinks++;
                    continue;
                }

                if (entry is DirectoryInfo directory)
                {
                    pending.Push((directory, path + "/"));
                }
                else if (entry is FileInfo file)
                {
                    found.Add((path, file));
                    if (isServer && !OperatingSystem.IsWindows() && (file.UnixFileMode & AnyExecute) != 0) executables.Add(path);
                }
            }
        }

        // All at once: the store reads them side by side and syncs its new files together, not one fsync per file.
        var hashes = await store.PutFilesAsync(found.Select(f => f.File.FullName).ToList(), cancellationToken);
        for (var i = 0; i < found.Count; i++) files.Add(new ManifestFile(found[i].Path, hashes[i], found[i].File.Length));

        if (skippedLinks > 0) log.System($"Skipped {skippedLinks} symbolic link(s) in the output: only regular files are deployed.");
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        links.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        executables.Sort(StringComparer.Ordinal);
        if (ManifestValidation.LinkProblems(files, links) is [var (_, problem), ..])
        {
            throw new BuildStepFailedException($"The output cannot be deployed: {problem}. A server's symbolic links must stay inside its output.");
        }

        if (links.Count > 0) log.System($"Kept {links.Count} symbolic link(s) inside the output (node_modules/.bin and the like)");
        return new CollectedOutput(files, links, executables);
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

    /// <summary>
    /// Places a server's files under <paramref name="destination"/> (copies: a server may write into its directory),
    /// sets their execute bits, then makes its links, last, so that nothing is ever written through one; the links
    /// are checked again first (<see cref="ManifestValidation.LinkProblems"/>), whoever wrote the manifest.
    /// </summary>
    public static void PlaceServer(IReadOnlyList<ManifestFile> files, IReadOnlyList<ManifestLink>? links, IReadOnlyList<string>? executables,
        IArtifactStore store, string destination)
    {
        if (ManifestValidation.LinkProblems(files, links) is [var (field, problem), ..]) throw new InvalidFieldException(field, problem);
        SourceFetcher.PlaceUpload(files, store, destination, link: false);
        if (!OperatingSystem.IsWindows())
        {
            foreach (var path in executables ?? [])
            {
                var full = SourceFetcher.PathInside(destination, path, "executables");
                if (File.Exists(full) && new FileInfo(full).LinkTarget is null) File.SetUnixFileMode(full, File.GetUnixFileMode(full) | AnyExecute);
            }
        }

        foreach (var link in links ?? [])
        {
            var full = SourceFetcher.PathInside(destination, link.Path, "links");
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.CreateSymbolicLink(full, link.Target);
        }
    }
}
