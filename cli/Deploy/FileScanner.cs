using System.Security.Cryptography;

namespace CloudDeck.Cli.Deploy;

/// <summary>A file to deploy: its '/'-separated path under the deployed folder, where it is, and its size.</summary>
public sealed record LocalFile(string Path, string FullPath, long Size);

/// <summary>A hashed file: what goes into the manifest.</summary>
public sealed record HashedFile(string Path, string FullPath, string Sha256, long Size);

/// <summary>
/// Finds the files of a folder to deploy, skipping what never belongs in a deployment (.gitignore-like defaults),
/// and hashes them with SHA-256, the artifact store's content address.
/// </summary>
public static class FileScanner
{
    /// <summary>Folders skipped at any depth: version control, dependencies (the build installs its own), deck's link.</summary>
    public static readonly IReadOnlySet<string> IgnoredDirectories = new HashSet<string>(StringComparer.Ordinal)
    {
        ".git", "node_modules", ".clouddeck", ".hg", ".svn",
    };

    /// <summary>Files skipped: OS litter, and local env files that hold developer secrets and would be served publicly.</summary>
    public static bool IsIgnoredFile(string name) =>
        name is ".DS_Store" or "Thumbs.db" or ".env.local" || (name.StartsWith(".env.", StringComparison.Ordinal) && name.EndsWith(".local", StringComparison.Ordinal));

    /// <summary>The folder's files in ordinal path order (so manifests are stable run to run).</summary>
    /// <exception cref="InvalidOperationException">A path the API would refuse (backslash, control character).</exception>
    public static IReadOnlyList<LocalFile> List(string root)
    {
        var full = System.IO.Path.GetFullPath(root);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"{root} is not a directory");
        var files = new List<LocalFile>();
        var outside = new List<string>();
        Walk(new DirectoryInfo(full), "", files, RealPath(full), outside);
        if (outside.Count > 0)
        {
            // Publishing a link's target would serve whatever it names (/etc/passwd, deck's own auth.json) to the world.
            throw new InvalidOperationException(
                $"cannot deploy {root}: {outside.Count} symbolic link(s) point outside the folder (remove them or copy the files in): "
                + string.Join(", ", outside.Take(10)) + (outside.Count > 10 ? ", …" : ""));
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    private static void Walk(DirectoryInfo directory, string prefix, List<LocalFile> files, string realRoot, List<string> outside)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            var path = prefix + entry.Name;
            if (entry is DirectoryInfo sub)
            {
                // A linked directory could loop back on itself or leave the folder: only real ones are walked.
                if (IgnoredDirectories.Contains(sub.Name) || sub.LinkTarget is not null) continue;
                Walk(sub, path + "/", files, realRoot, outside);
            }
            else if (entry is FileInfo file && !IsIgnoredFile(file.Name))
            {
                CheckPath(path);
                if (file.LinkTarget is null)
                {
                    files.Add(new LocalFile(path, file.FullName, file.Length));
                    continue;
                }

                // A symlinked file inside the folder is deployed as its target's content, like a copy would be; one
                // whose target (after every link on the way) leaves the folder is refused.
                var target = RealPath(file.FullName);
                if (!target.StartsWith(realRoot.TrimEnd(System.IO.Path.DirectorySeparatorChar) + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
                {
                    outside.Add($"{Printable(path)} -> {Printable(file.LinkTarget)}");
                    continue;
                }

                files.Add(new LocalFile(path, target, new FileInfo(target).Length));
            }
        }
    }

    /// <summary>
    /// The path with every symbolic link on the way resolved, left to right (what the kernel opens), so a link through a
    /// linked directory or a chain of links is judged by where it really ends.
    /// </summary>
    /// <exception cref="IOException">More than 40 links on the way (a loop).</exception>
    public static string RealPath(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        for (var hops = 0; hops <= 40; hops++)
        {
            var root = System.IO.Path.GetPathRoot(full) ?? "/";
            var parts = full[root.Length..].Split(System.IO.Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
            var current = root;
            var resolved = true;
            for (var i = 0; i < parts.Length; i++)
            {
                var next = System.IO.Path.Join(current, parts[i]);
                if (new FileInfo(next).LinkTarget is { } target)
                {
                    // A relative target is relative to the link's folder, which is real already.
                    var rest = string.Join(System.IO.Path.DirectorySeparatorChar, parts[(i + 1)..]);
                    full = System.IO.Path.GetFullPath(System.IO.Path.Join(System.IO.Path.GetFullPath(target, current), rest));
                    resolved = false;
                    break;
                }

                current = next;
            }

            if (resolved) return full;
        }

        throw new IOException($"{path}: too many levels of symbolic links");
    }

    /// <summary>Paths the server's manifest validation refuses, caught before hashing anything.</summary>
    public static void CheckPath(string path)
    {
        if (path.Contains('\\', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"cannot deploy '{path}': a file name contains a backslash (rename it)");
        }

        if (path.Any(char.IsControl))
        {
            throw new InvalidOperationException($"cannot deploy '{Printable(path)}': a file name contains a control character (rename it)");
        }
    }

    public static async Task<HashedFile> HashAsync(LocalFile file, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(file.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var hash = await SHA256.HashDataAsync(stream, cancellationToken);
        // The size read is the size hashed: a file growing between listing and hashing must not get a mismatched size.
        return new HashedFile(file.Path, file.FullPath, Convert.ToHexStringLower(hash), stream.Position);
    }

    private static string Printable(string path) => new([.. path.Select(c => char.IsControl(c) ? '?' : c)]);
}
