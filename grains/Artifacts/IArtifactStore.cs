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

    /// <summary>The stored file's path, for serving with sendfile and for copying into a build's work directory.</summary>
    string PathOf(string sha256);
}
