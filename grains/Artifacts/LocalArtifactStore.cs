using System.Buffers;
using System.Security.Cryptography;
using CloudDeck.GrainInterfaces;

namespace CloudDeck.Grains.Artifacts;

/// <summary>
/// Files at <c>&lt;root&gt;/&lt;aa&gt;/&lt;rest of the hash&gt;</c>. A file is written to a temporary name under
/// <c>&lt;root&gt;/tmp</c>, hashed while it is written, flushed, and renamed into place only when hash and size match:
/// a reader (the edge, with sendfile) sees a complete file or none, and a refused upload leaves nothing behind.
/// Two puts of one hash race harmlessly: both write their own temporary file and the second rename finds the first.
/// </summary>
public sealed class LocalArtifactStore : IArtifactStore
{
    private const int BufferSize = 128 * 1024;
    private readonly string _root;
    private readonly string _temporary;

    /// <summary>
    /// Under orgs/ (beside the organizations' directories; no slug starts with a dot), written once by the first start of
    /// a version that counts storage: its time is <see cref="_countedSince"/>.
    /// </summary>
    private const string CountedSinceFile = ".storage-counted-since";

    /// <summary>
    /// Contents stored before this are never deleted: deployments of that time may serve them without any
    /// organization holding a grant (grants came later), so "held by no one" does not mean "used by no one".
    /// </summary>
    private readonly DateTime _countedSince;

    public LocalArtifactStore(string root)
    {
        _root = Path.GetFullPath(root);
        _temporary = Path.Combine(_root, "tmp");
        Directory.CreateDirectory(_temporary);
        RemoveAbandonedUploads();
        _countedSince = CountedSince(_root);
    }

    public string Root => _root;

    /// <summary>Where uploads are written before they are checked and published (the same file system as the store).</summary>
    internal string TemporaryDirectory => _temporary;

    public bool Contains(string sha256) => IsWellFormed(sha256) && File.Exists(PathOf(sha256));

    public IReadOnlyList<string> Missing(IEnumerable<string> sha256s)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var sha256 in sha256s)
        {
            ArtifactHashes.Require(sha256);
            if (seen.Add(sha256) && !File.Exists(PathOf(sha256))) missing.Add(sha256);
        }

        return missing;
    }

    /// <summary>An empty file per (organization, hash) under <c>&lt;root&gt;/orgs/&lt;org&gt;/</c>: the content itself is stored once.</summary>
    public Task GrantAsync(string organization, IEnumerable<string> sha256s, CancellationToken cancellationToken)
    {
        var created = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sha256 in sha256s)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var grant = GrantPath(organization, sha256);
            if (File.Exists(grant)) continue;
            var directory = Path.GetDirectoryName(grant)!;
            if (created.Add(directory)) Directory.CreateDirectory(directory);
            // A lost grant (a crash before the disk has it) costs the organization one upload again, never someone's file.
            using (new FileStream(grant, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite))
            {
            }
        }

        return Task.CompletedTask;
    }

    public IReadOnlyList<string> MissingFor(string organization, IEnumerable<string> sha256s)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var sha256 in sha256s)
        {
            ArtifactHashes.Require(sha256);
            if (seen.Add(sha256) && !(File.Exists(GrantPath(organization, sha256)) && File.Exists(PathOf(sha256)))) missing.Add(sha256);
        }

        return missing;
    }

    public IEnumerable<string> GrantsOf(string organization)
    {
        var directory = new DirectoryInfo(OrganizationDirectory(organization));
        if (!directory.Exists) yield break;
        foreach (var prefix in directory.EnumerateDirectories())
        {
            if (prefix.Name.Length != 2) continue;
            foreach (var grant in prefix.EnumerateFiles())
            {
                var sha256 = prefix.Name + grant.Name;
                if (IsWellFormed(sha256)) yield return sha256;
            }
        }
    }

    public void Revoke(string organization, string sha256) => File.Delete(GrantPath(organization, sha256));

    public long? SizeOf(string sha256)
    {
        var file = new FileInfo(PathOf(sha256));
        return file.Exists ? file.Length : null;
    }

    /// <summary>
    /// The content is first renamed aside, then every organization's grants are looked at again: an upload takes its grant
    /// before it looks for the content, so one that looked while the content was still in place has a grant by now and the
    /// content goes back; one that looks after the rename finds nothing and stores the content again.
    /// </summary>
    public bool DeleteIfHeldByNone(string sha256)
    {
        var path = PathOf(sha256);
        var stored = new FileInfo(path);
        if (!stored.Exists || stored.LastWriteTimeUtc < _countedSince || IsHeldByAnyone(sha256)) return false;
        var aside = Path.Combine(_temporary, sha256 + "." + Guid.NewGuid().ToString("n") + ".collected");
        try
        {
            File.Move(path, aside, overwrite: false);
        }
        catch (FileNotFoundException)
        {
            return false;
        }

        if (IsHeldByAnyone(sha256))
        {
            try
            {
                File.Move(aside, path, overwrite: false);
                return false;
            }
            catch (IOException) when (File.Exists(path))
            {
                // An upload stored the same bytes again meanwhile.
            }
        }

        File.Delete(aside);
        return true;
    }

    private static DateTime CountedSince(string root)
    {
        var marker = Path.Combine(Directory.CreateDirectory(Path.Combine(root, "orgs")).FullName, CountedSinceFile);
        try
        {
            // Created, not overwritten: the first start's time stays, whichever process of a cluster gets there first.
            using (new FileStream(marker, FileMode.CreateNew, FileAccess.Write, FileShare.Read))
            {
            }
        }
        catch (IOException) when (File.Exists(marker))
        {
        }

        return File.GetLastWriteTimeUtc(marker);
    }

    private bool IsHeldByAnyone(string sha256)
    {
        var organizations = new DirectoryInfo(Path.Combine(_root, "orgs"));
        if (!organizations.Exists) return false;
        return organizations.EnumerateDirectories().Any(organization => File.Exists(Path.Combine(organization.FullName, sha256[..2], sha256[2..])));
    }

    private string GrantPath(string organization, string sha256)
    {
        ArtifactHashes.Require(sha256);
        return Path.Combine(OrganizationDirectory(organization), sha256[..2], sha256[2..]);
    }

    private string OrganizationDirectory(string organization)
    {
        // Slugs only (lower-case letters, digits, hyphens): nothing that could name a path outside orgs/.
        if (organization.Length is 0 or > 64 || organization.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789-") >= 0)
        {
            throw new ArgumentException($"'{organization}' is not an organization slug", nameof(organization));
        }

        return Path.Combine(_root, "orgs", organization);
    }

    public async Task PutAsync(string sha256, long size, Stream content, CancellationToken cancellationToken)
    {
        ArtifactHashes.Require(sha256);
        if (size < 0) throw new InvalidFieldException("size", "must not be negative");
        if (File.Exists(PathOf(sha256)))
        {
            // Stored already: the content is still checked (a client learns nothing by sending wrong bytes), but neither
            // written nor synced again.
            var (known, knownLength) = await HashAsync(content, size, cancellationToken);
            Check(sha256, size, known, knownLength);
            return;
        }

        var (temporary, actual, length) = await WriteTemporaryAsync(content, size, flushToDisk: true, cancellationToken);
        try
        {
            Check(sha256, size, actual, length);
            Publish(temporary, sha256);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public async Task<string> PutFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan | FileOptions.Asynchronous);
        // Hashed first: a build's output is mostly content stored before (unchanged assets), which then costs one read
        // instead of a copy and an fsync.
        var (known, _) = await HashAsync(source, limit: null, cancellationToken);
        if (File.Exists(PathOf(known))) return known;
        source.Position = 0;
        var (temporary, sha256, _) = await WriteTemporaryAsync(source, limit: null, flushToDisk: true, cancellationToken);
        try
        {
            Publish(temporary, sha256);
            return sha256;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// <see cref="PutFileAsync"/> for many files: read and hashed side by side (one file per core), the new ones written
    /// to temporary names unsynced, then made durable with one sync and only then renamed into place. A build's output
    /// costs one sync instead of one fsync per new file.
    /// </summary>
    public async Task<IReadOnlyList<string>> PutFilesAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        var hashes = new string[paths.Count];
        var written = new (string Temporary, string Sha256)?[paths.Count];
        try
        {
            await Parallel.ForAsync(0, paths.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
                async (i, token) =>
                {
                    await using var source = new FileStream(paths[i], FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize,
                        FileOptions.SequentialScan | FileOptions.Asynchronous);
                    var (known, _) = await HashAsync(source, limit: null, token);
                    hashes[i] = known;
                    if (File.Exists(PathOf(known))) return;
                    source.Position = 0;
                    var (temporary, sha256, _) = await WriteTemporaryAsync(source, limit: null, flushToDisk: false, token);
                    written[i] = (temporary, sha256);
                    hashes[i] = sha256;
                });
            var temporaries = written.OfType<(string Temporary, string Sha256)>().ToList();
            LocalArtifactBatch.MakeDurable(temporaries.Select(t => t.Temporary).ToList());
            foreach (var (temporary, sha256) in temporaries) Publish(temporary, sha256);
            return hashes;
        }
        finally
        {
            foreach (var entry in written)
            {
                if (entry is { } w) File.Delete(w.Temporary);
            }
        }
    }

    public string PathOf(string sha256)
    {
        ArtifactHashes.Require(sha256);
        return Path.Combine(_root, sha256[..2], sha256[2..]);
    }

    public IArtifactBatch BeginBatch() => new LocalArtifactBatch(this);

    internal static void Check(string sha256, long size, string actual, long length)
    {
        if (length != size) throw new InvalidFieldException("size", $"the content has {(length > size ? "more than " : "")}{length} bytes, not {size}");
        if (actual != sha256) throw new InvalidFieldException("sha256", $"the content's SHA-256 is {actual}, not {sha256}");
    }

    /// <summary>Hashes <paramref name="content"/> without storing it; stops one byte past <paramref name="limit"/>, like the write does.</summary>
    internal static async Task<(string Sha256, long Length)> HashAsync(Stream content, long? limit, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        // Pooled: a 128 KiB array is a large-object-heap allocation, and a deploy puts thousands of files.
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long length = 0;
            int read;
            while ((read = await content.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
            {
                length += read;
                if (length > limit) break;
                hash.AppendData(buffer, 0, read);
            }

            return (Convert.ToHexStringLower(hash.GetHashAndReset()), length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Copies <paramref name="content"/> to a new temporary file, hashing it; stops reading one byte past
    /// <paramref name="limit"/> so an oversized body is refused without reading all of it. Without
    /// <paramref name="flushToDisk"/> the caller must make it durable before publishing it (a batch syncs once).
    /// </summary>
    internal async Task<(string Path, string Sha256, long Length)> WriteTemporaryAsync(Stream content, long? limit, bool flushToDisk, CancellationToken cancellationToken)
    {
        var temporary = Path.Combine(_temporary, Guid.NewGuid().ToString("n"));
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length = 0;
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                try
                {
                    int read;
                    while ((read = await content.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken)) > 0)
                    {
                        length += read;
                        if (length > limit) break;
                        hash.AppendData(buffer, 0, read);
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                // Durable before it can be renamed into place: a crash must never leave a short file under a hash name.
                if (flushToDisk) file.Flush(flushToDisk: true);
            }

            return (temporary, Convert.ToHexStringLower(hash.GetHashAndReset()), length);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    internal void Publish(string temporary, string sha256)
    {
        var target = PathOf(sha256);
        if (File.Exists(target)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        try
        {
            // No overwrite: a file already under this name has these very bytes, and readers may have it open.
            File.Move(temporary, target, overwrite: false);
        }
        catch (IOException) when (File.Exists(target))
        {
            // Another put of the same content won the race.
        }
    }

    /// <summary>
    /// Temporary files a killed process left behind. Only old ones: in cluster mode other processes share this
    /// directory and may be writing theirs right now.
    /// </summary>
    private void RemoveAbandonedUploads()
    {
        var before = DateTime.UtcNow - TimeSpan.FromDays(1);
        foreach (var file in new DirectoryInfo(_temporary).EnumerateFiles())
        {
            try
            {
                if (file.LastWriteTimeUtc < before) file.Delete();
            }
            catch (IOException)
            {
            }
        }
    }

    private static bool IsWellFormed(string sha256) => GrainInterfaces.Deployments.ManifestValidation.IsSha256(sha256);
}
