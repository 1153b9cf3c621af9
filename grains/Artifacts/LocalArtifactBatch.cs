using System.Runtime.InteropServices;

namespace CloudDeck.Grains.Artifacts;

/// <summary>
/// A batch of puts into a <see cref="LocalArtifactStore"/>: each new file is written to its temporary name and checked
/// as it comes (not synced), the commit makes them all durable at once and only then renames them into place, so the
/// store's promise holds (a hash name never points at a short file, a refused file leaves nothing) with one sync per
/// batch instead of one fsync per file. On Linux the one sync of a batch of more than a few files is syncfs(2) of the
/// store's file system, which writes back the batch's data and the temporary files' directory entries together;
/// otherwise, or if syncfs fails, each file is fsynced.
/// </summary>
internal sealed class LocalArtifactBatch(LocalArtifactStore store) : IArtifactBatch
{
    private readonly List<(string Temporary, string Sha256)> _pending = [];

    public async Task AddAsync(string sha256, long size, Stream content, CancellationToken cancellationToken)
    {
        ArtifactHashes.Require(sha256);
        if (size < 0) throw new GrainInterfaces.InvalidFieldException("size", "must not be negative");
        if (store.Contains(sha256) || _pending.Any(p => p.Sha256 == sha256))
        {
            var (known, knownLength) = await LocalArtifactStore.HashAsync(content, size, cancellationToken);
            LocalArtifactStore.Check(sha256, size, known, knownLength);
            return;
        }

        var (temporary, actual, length) = await store.WriteTemporaryAsync(content, size, flushToDisk: false, cancellationToken);
        try
        {
            LocalArtifactStore.Check(sha256, size, actual, length);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        _pending.Add((temporary, sha256));
    }

    public Task CommitAsync(CancellationToken cancellationToken)
    {
        if (_pending.Count == 0) return Task.CompletedTask;
        MakeDurable(_pending.Select(p => p.Temporary).ToList());
        foreach (var (temporary, sha256) in _pending)
        {
            store.Publish(temporary, sha256);
            File.Delete(temporary);
        }

        _pending.Clear();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Up to this many files are fsynced one by one: syncfs writes back everything dirty on the file system, and right
    /// after an install that is the dependency tree just copied to the cache (a Vite build's three files took 60 ms
    /// through syncfs beside it).
    /// </summary>
    private const int FsyncEachUpTo = 8;

    /// <summary>
    /// One syncfs(2) for all of <paramref name="temporaries"/> (files of the store's file system) when there are many,
    /// else an fsync each.
    /// </summary>
    internal static void MakeDurable(IReadOnlyList<string> temporaries)
    {
        if (temporaries.Count == 0 || (temporaries.Count > FsyncEachUpTo && SyncFileSystem(temporaries[0]))) return;
        foreach (var temporary in temporaries)
        {
            using var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
            file.Flush(flushToDisk: true);
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var (temporary, _) in _pending) File.Delete(temporary);
        _pending.Clear();
        return ValueTask.CompletedTask;
    }

    /// <returns>false when the platform has no syncfs or it failed: the caller then syncs file by file.</returns>
    private static bool SyncFileSystem(string anyFileOnIt)
    {
        if (!OperatingSystem.IsLinux()) return false;
        using var handle = File.OpenHandle(anyFileOnIt, FileMode.Open, FileAccess.Read);
        return SysSyncFs((int)handle.DangerousGetHandle()) == 0;
    }

    [DllImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static extern int SysSyncFs(int fd);
}
