using System.Diagnostics;
using System.Security.Cryptography;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// node_modules trees kept by the SHA-256 of the lockfile they were installed from: the same lockfile gets the same
/// tree, so a second build restores it and skips the install. Entries are written under a temporary name and renamed,
/// so a build that dies mid-save leaves no half tree behind; restores copy (never link), because builds write into
/// node_modules (.cache, .vite) and must not change what the next build gets.
/// </summary>
public sealed class DependencyCache(string directory, int maxEntries)
{
    private string Trees => Path.Combine(directory, "node_modules");

    /// <summary>npm's (and yarn's) own download cache, shared by every build.</summary>
    public string PackageManagerCache => Path.Combine(directory, "npm");

    public static string KeyOf(string root, string lockfile)
    {
        using var file = File.OpenRead(Path.Combine(root, lockfile));
        // The lockfile's name is part of the key: an npm and a yarn tree from equal bytes are not the same tree.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(lockfile + "\n"));
        var buffer = new byte[81920];
        int read;
        while ((read = file.Read(buffer)) > 0) hash.AppendData(buffer.AsSpan(0, read));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Copies the cached tree into <paramref name="root"/>; false when there is none for the key.</summary>
    public async Task<bool> TryRestoreAsync(string key, string root, CancellationToken cancellationToken)
    {
        var entry = Path.Combine(Trees, key, "node_modules");
        if (!Directory.Exists(entry)) return false;
        var target = Path.Combine(root, "node_modules");
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        if (!await CopyAsync(entry, target, cancellationToken)) return false;
        // Last use decides what pruning keeps.
        Directory.SetLastWriteTimeUtc(Path.Combine(Trees, key), DateTime.UtcNow);
        return true;
    }

    /// <summary>Keeps <paramref name="root"/>'s freshly installed node_modules under the key (if not kept already).</summary>
    public async Task<bool> SaveAsync(string key, string root, CancellationToken cancellationToken)
    {
        var source = Path.Combine(root, "node_modules");
        var entry = Path.Combine(Trees, key);
        if (!Directory.Exists(source) || Directory.Exists(entry)) return false;
        var temporary = Path.Combine(Trees, $".tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temporary);
        try
        {
            if (!await CopyAsync(source, Path.Combine(temporary, "node_modules"), cancellationToken)) return false;
            Directory.Move(temporary, entry);
        }
        catch (IOException)
        {
            // Another build of the same lockfile saved first: its tree is as good as ours.
            return false;
        }
        finally
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
        }

        Prune();
        return true;
    }

    private void Prune()
    {
        var entries = new DirectoryInfo(Trees).GetDirectories().Where(d => !d.Name.StartsWith('.'))
            .OrderByDescending(d => d.LastWriteTimeUtc).Skip(maxEntries);
        foreach (var old in entries)
        {
            try
            {
                old.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A build is restoring it right now; the next prune gets it.
            }
        }
    }

    /// <summary><c>cp -a</c>: keeps the symlinks of node_modules/.bin and file modes, which a managed copy would have to redo.</summary>
    private static async Task<bool> CopyAsync(string from, string to, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("cp") { ArgumentList = { "-a", from, to }, UseShellExecute = false, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        await using var kill = cancellationToken.Register(() => process.Kill(entireProcessTree: true));
        // Read (and dropped: a failed copy only means no cache) so that a chatty cp cannot fill the pipe and stall.
        await process.StandardError.ReadToEndAsync(CancellationToken.None);
        await process.WaitForExitAsync(CancellationToken.None);
        cancellationToken.ThrowIfCancellationRequested();
        if (process.ExitCode != 0 && Directory.Exists(to)) Directory.Delete(to, recursive: true);
        return process.ExitCode == 0;
    }
}
