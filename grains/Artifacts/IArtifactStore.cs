namespace CloudDeck.Grains.Artifacts;

/// <summary>
/// Files stored once by the SHA-256 of their content (lower-case hex). Embedded mode keeps them under the data
/// directory; cluster mode points every silo and API process at one shared directory (<c>CloudDeck:Artifacts:Path</c>).
/// A stored file never changes, so readers need no locks and the edge may cache it forever.
/// </summary>
public interface IArtifactStore
{
    bool Contains(string sha256);

    /// <summary>The hashes among <paramref name="sha256s"/> that are not stored, in the order given, each once.</summary>
    IReadOnlyList<string> Missing(IEnumerable<string> sha256s);

    /// <summary>
    /// Stores <paramref name="content"/> if its SHA-256 is <paramref name="sha256"/> and its length <paramref name="size"/>;
    /// otherwise throws <see cref="GrainInterfaces.InvalidFieldException"/> and stores nothing. Writing an already
    /// stored hash is a no-op that still checks the content.
    /// </summary>
    Task PutAsync(string sha256, long size, Stream content, CancellationToken cancellationToken);

    /// <summary>Hashes and stores a file from disk (a build's output); answers its hash.</summary>
    Task<string> PutFileAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// Hashes and stores files from disk (a build's output); answers their hashes in the order given. A store may read
    /// them side by side and make the new ones durable together; this default puts them one by one.
    /// </summary>
    async Task<IReadOnlyList<string>> PutFilesAsync(IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        var hashes = new string[paths.Count];
        for (var i = 0; i < paths.Count; i++) hashes[i] = await PutFileAsync(paths[i], cancellationToken);
        return hashes;
    }

    /// <summary>
    /// Records that <paramref name="organization"/> holds these contents (it uploaded them, or its build produced them).
    /// Storage stays deduplicated; what an organization may test or reference is what it holds itself, so the store
    /// answers no organization about another's files.
    /// </summary>
    Task GrantAsync(string organization, IEnumerable<string> sha256s, CancellationToken cancellationToken);

    /// <summary>
    /// The hashes among <paramref name="sha256s"/> that <paramref name="organization"/> does not hold (never granted to it,
    /// or not stored), in the order given, each once: the same answer whether or not another organization stored them.
    /// </summary>
    IReadOnlyList<string> MissingFor(string organization, IEnumerable<string> sha256s);

    /// <summary>The hashes <paramref name="organization"/> holds a grant for (whether or not the content is still stored).</summary>
    IEnumerable<string> GrantsOf(string organization);

    /// <summary>Drops <paramref name="organization"/>'s grant of a content; the bytes stay (see <see cref="DeleteIfHeldByNone"/>).</summary>
    void Revoke(string organization, string sha256);

    /// <summary>The stored content's size in bytes; null when it is not stored.</summary>
    long? SizeOf(string sha256);

    /// <summary>
    /// Deletes the stored content when no organization holds a grant of it; answers whether it did. A grant taken while
    /// this runs keeps the content (or, when the content went first, the grant's upload stores it again). Contents stored
    /// before storage was counted stay: deployments of that time may serve them without a grant.
    /// </summary>
    bool DeleteIfHeldByNone(string sha256);

    /// <summary>The stored file's path, for serving with sendfile and for copying into a build's work directory.</summary>
    string PathOf(string sha256);

    /// <summary>
    /// Puts made durable together (one sync for the batch instead of one per file). Each added file is checked as it
    /// is added; none is visible before <see cref="IArtifactBatch.CommitAsync"/>; a batch disposed uncommitted (after a
    /// refused file, say) stores nothing. This default checks and holds the files in memory, then puts them one by one.
    /// </summary>
    IArtifactBatch BeginBatch() => new BufferedArtifactBatch(this);
}

/// <summary>See <see cref="IArtifactStore.BeginBatch"/>.</summary>
public interface IArtifactBatch : IAsyncDisposable
{
    /// <summary>Checks <paramref name="content"/> against hash and size (<see cref="GrainInterfaces.InvalidFieldException"/> if wrong) and holds it for the commit.</summary>
    Task AddAsync(string sha256, long size, Stream content, CancellationToken cancellationToken);

    /// <summary>Makes every added file durable, then visible.</summary>
    Task CommitAsync(CancellationToken cancellationToken);
}

/// <summary>The default batch: files held in memory until the commit puts them.</summary>
internal sealed class BufferedArtifactBatch(IArtifactStore store) : IArtifactBatch
{
    private readonly List<(string Sha256, byte[] Content)> _files = [];

    public async Task AddAsync(string sha256, long size, Stream content, CancellationToken cancellationToken)
    {
        ArtifactHashes.Require(sha256);
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.ToArray();
        if (bytes.LongLength != size) throw new GrainInterfaces.InvalidFieldException("size", $"the content has {bytes.LongLength} bytes, not {size}");
        var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        if (actual != sha256) throw new GrainInterfaces.InvalidFieldException("sha256", $"the content's SHA-256 is {actual}, not {sha256}");
        _files.Add((sha256, bytes));
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        foreach (var (sha256, bytes) in _files) await store.PutAsync(sha256, bytes.LongLength, new MemoryStream(bytes), cancellationToken);
        _files.Clear();
    }

    public ValueTask DisposeAsync()
    {
        _files.Clear();
        return ValueTask.CompletedTask;
    }
}
