using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// node_modules trees kept by the SHA-256 of the lockfile they were installed from: the same lockfile gets the same
/// tree, so a second build restores it and skips the install. Entries are written under a temporary name and renamed,
/// so a build that dies mid-save leaves no half tree behind; restores copy (never link), because builds write into
/// node_modules (.cache, .vite) and must not change what the next build gets. A save runs beside the build instead of
/// before it (it was a fifth of a cold Vite deploy's overhead), leaving out the build tools' own cache folders.
/// </summary>
public sealed class DependencyCache(string directory, int maxEntries)
{
    /// <summary>What build tools write into node_modules during a build: never part of an installed tree.</summary>
    private static readonly HashSet<string> BuildCaches = new(StringComparer.Ordinal) { ".cache", ".vite" };

    private readonly ConcurrentDictionary<string, Task<bool>> _saving = new(StringComparer.Ordinal);

    private string Trees => Path.Combine(directory, "node_modules");

    /// <summary>npm's (and yarn's) own download cache, shared by every build.</summary>
    public string PackageManagerCache => Path.Combine(directory, "npm");

    /// <param name="scope">Whose trees these are (the organization): trees are never shared across scopes.</param>
    public static string KeyOf(string root, string lockfile, string scope)
    {
        using var file = File.OpenRead(Path.Combine(root, lockfile));
        // The lockfile's name is part of the key: an npm and a yarn tree from equal bytes are not the same tree.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(scope + "\n" + lockfile + "\n"));
        var buffer = new byte[81920];
        int read;
        while ((read = file.Read(buffer)) > 0) hash.AppendData(buffer.AsSpan(0, read));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Copies the cached tree into <paramref name="root"/>; false when there is none for the key.</summary>
    public async Task<bool> TryRestoreAsync(string key, string root, CancellationToken cancellationToken)
    {
        // A build of the same lockfile that just installed may still be saving its tree: that tree is the one to get.
        if (_saving.TryGetValue(key, out var saving)) await saving.WaitAsync(cancellationToken);
        var entry = Path.Combine(Trees, key, "node_modules");
        if (!Directory.Exists(entry)) return false;
        var target = Path.Combine(root, "node_modules");
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        if (!await CopyAsync([entry], target, cancellationToken)) return false;
        // Last use decides what pruning keeps.
        Directory.SetLastWriteTimeUtc(Path.Combine(Trees, key), DateTime.UtcNow);
        return true;
    }

    /// <summary>
    /// Starts keeping <paramref name="root"/>'s freshly installed node_modules under the key (if not kept, or being
    /// kept, already) while the build goes on; the answer completes when the tree is saved (true) or was not (false),
    /// and is null when no save started. The caller must keep <paramref name="root"/> until it completes.
    /// </summary>
    public Task<bool>? SaveInBackground(string key, string root)
    {
        var source = Path.Combine(root, "node_modules");
        if (!Directory.Exists(source) || Directory.Exists(Path.Combine(Trees, key))) return null;
        var started = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_saving.TryAdd(key, started.Task)) return null;
        _ = Task.Run(async () =>
        {
            var saved = false;
            try
            {
                saved = await SaveAsync(key, source);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The build changed node_modules under the copy: no cache this time, the next install saves one.
            }
            finally
            {
                _saving.TryRemove(key, out _);
                started.SetResult(saved);
            }
        });
        return started.Task;
    }

    private async Task<bool> SaveAsync(string key, string source)
    {
        var entry = Path.Combine(Trees, key);
        var temporary = Path.Combine(Trees, $".tmp-{Guid.NewGuid():N}");
        var copy = Directory.CreateDirectory(Path.Combine(temporary, "node_modules")).FullName;
        try
        {
            var entries = new DirectoryInfo(source).EnumerateFileSystemInfos().Where(e => !BuildCaches.Contains(e.Name)).Select(e => e.FullName).ToList();
            if (entries.Count > 0 && !await CopyAsync(entries, copy, CancellationToken.None)) return false;
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

    /// <summary>
    /// <c>cp -a</c>: keeps the symlinks of node_modules/.bin and file modes, which a managed copy would have to redo.
    /// One source is copied as <paramref name="to"/>; several go into the existing directory <paramref name="to"/>.
    /// </summary>
    private static async Task<bool> CopyAsync(IReadOnlyList<string> from, string to, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("cp") { ArgumentList = { "-a" }, UseShellExecute = false, RedirectStandardError = true };
        foreach (var source in from) info.ArgumentList.Add(source);
        info.ArgumentList.Add(to);
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
