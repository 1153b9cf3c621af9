using System.IO.Compression;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Api.Edge;

/// <summary>One stored file as the edge serves it: in memory when small, with its compressed forms made once.</summary>
public sealed class CachedFile(string sha256, long length, string path, byte[]? bytes, FileCache owner)
{
    private byte[]? _gzip;
    private byte[]? _brotli;

    public string Sha256 { get; } = sha256;

    public long Length { get; } = length;

    /// <summary>On disk, for files too large to keep in memory (sent with sendfile).</summary>
    public string Path { get; } = path;

    public byte[]? Bytes { get; } = bytes;

    /// <summary>The quoted strong ETag of the identity encoding; each encoding's tag adds a suffix, as their bytes differ.</summary>
    public string ETag { get; } = $"\"{sha256[..32]}\"";

    public string GzipETag { get; } = $"\"{sha256[..32]}-gz\"";

    public string BrotliETag { get; } = $"\"{sha256[..32]}-br\"";

    /// <summary>The content compressed (null when it does not get smaller). Made on first use; a race makes it twice, harmlessly.</summary>
    public byte[]? Encoded(ContentCoding coding)
    {
        if (Length > FileCache.MaxCompressBytes) return null;
        ref var slot = ref coding == ContentCoding.Brotli ? ref _brotli : ref _gzip;
        if (slot is null)
        {
            // A text file too large to keep whole in memory is still worth keeping compressed (a big JS bundle).
            var compressed = Compress(Bytes ?? File.ReadAllBytes(Path), coding);
            // An empty array marks "not worth it", so it is not tried again.
            slot = compressed.Length < Length - 32 ? compressed : [];
            owner.Account(Sha256, slot.Length);
        }

        return slot.Length == 0 ? null : slot;
    }

    private static byte[] Compress(byte[] bytes, ContentCoding coding)
    {
        using var output = new MemoryStream(bytes.Length / 3 + 64);
        // Made once per file and then served many times: the strongest levels that stay well under a second for 1 MiB.
        using (Stream compressor = coding == ContentCoding.Brotli
                   ? new BrotliStream(output, new BrotliCompressionOptions { Quality = 9 })
                   : new GZipStream(output, CompressionLevel.SmallestSize))
        {
            compressor.Write(bytes);
        }

        return output.ToArray();
    }
}

public enum ContentCoding
{
    Identity,
    Gzip,
    Brotli,
}

/// <summary>
/// Stored files by hash. A stored file never changes, so an entry is never stale; the byte budget bounds memory and,
/// when reached, the least recently served files are let go (they come back from disk on their next request).
/// </summary>
public sealed class FileCache(IArtifactStore store, EdgeOptions options) : IDisposable
{
    /// <summary>Compressible files up to this size are kept compressed in memory, whatever their own size.</summary>
    public const long MaxCompressBytes = 16L * 1024 * 1024;

    /// <summary>What an entry weighs beyond its content (its record, path and hash), so files sent from disk count too.</summary>
    private const long EntryOverheadBytes = 512;

    private readonly LruCache<string, CachedFile> _files = new LruCache<string, CachedFile>(options.MemoryCacheBytes, "files").Observed();

    /// <summary>Whether the file is in memory now (what the edge's requests metric calls a cache hit).</summary>
    public bool Contains(string sha256) => _files.Contains(sha256);

    /// <summary>Bytes held (content, compressed forms, overhead), the byte budget, hits and misses.</summary>
    public EdgeCacheFigures Figures() => _files.Figures();

    public async ValueTask<CachedFile?> GetAsync(string sha256, CancellationToken cancellationToken)
    {
        if (_files.TryGet(sha256, out var cached)) return cached;
        var path = store.PathOf(sha256);
        var info = new FileInfo(path);
        if (!info.Exists) return null;
        byte[]? bytes = null;
        if (info.Length <= options.MaxMemoryFileBytes) bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        var file = new CachedFile(sha256, info.Length, path, bytes, this);
        return _files.GetOrAdd(sha256, file, EntryOverheadBytes + (bytes?.Length ?? 0));
    }

    /// <summary>A compressed form of a cached file was made: it weighs on the budget too.</summary>
    internal void Account(string sha256, long bytes) => _files.AddWeight(sha256, bytes);

    public void Dispose() => _files.Dispose();
}
