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
        Walk(new DirectoryInfo(full), "", files);
        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    private static void Walk(DirectoryInfo directory, string prefix, List<LocalFile> files)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            var path = prefix + entry.Name;
            if (entry is DirectoryInfo sub)
            {
                // A linked directory could loop back on itself or leave the folder: only real ones are walked.
                if (IgnoredDirectories.Contains(sub.Name) || sub.LinkTarget is not null) continue;
                Walk(sub, path + "/", files);
            }
            else if (entry is FileInfo file && !IsIgnoredFile(file.Name))
            {
                CheckPath(path);
                // A symlinked file is deployed as its target's content, like a copy would be.
                var size = file.LinkTarget is null ? file.Length : new FileInfo(file.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? file.FullName).Length;
                files.Add(new LocalFile(path, file.FullName, size));
            }
        }
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
