namespace CloudDeck.Cli.Deploy;

/// <summary>The request bodies of an upload deployment, built from hashed files.</summary>
public static class Manifest
{
    /// <summary>
    /// Hashes per <c>files/missing</c> request: 500 entries are about 45 KB of JSON, under the API's 64 KiB body limit.
    /// </summary>
    public const int MissingBatchSize = 500;

    /// <summary>Each content once, whatever the number of paths holding it (copies upload once).</summary>
    public static IReadOnlyList<HashedFile> Distinct(IEnumerable<HashedFile> files) =>
        [.. files.DistinctBy(f => f.Sha256, StringComparer.Ordinal)];

    /// <summary>Bodies for <c>POST /api/v1/orgs/{slug}/files/missing</c>.</summary>
    public static IEnumerable<object> MissingRequests(IReadOnlyList<HashedFile> files) =>
        Distinct(files).Chunk(MissingBatchSize).Select(chunk => new
        {
            files = chunk.Select(f => new { sha256 = f.Sha256, size = f.Size }).ToArray(),
        });

    /// <summary>The body of <c>POST /api/v1/orgs/{slug}/projects/{project}/deployments</c> for an upload.</summary>
    public static object DeploymentRequest(IReadOnlyList<HashedFile> files, bool production, string? branch = null) => new DeploymentRequestBody(
        production ? "production" : "preview",
        [.. files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => new ManifestEntry(f.Path, f.Sha256, f.Size))],
        branch);

    public sealed record ManifestEntry(
        [property: System.Text.Json.Serialization.JsonPropertyName("path")] string Path,
        [property: System.Text.Json.Serialization.JsonPropertyName("sha256")] string Sha256,
        [property: System.Text.Json.Serialization.JsonPropertyName("size")] long Size);

    public sealed record DeploymentRequestBody(
        [property: System.Text.Json.Serialization.JsonPropertyName("target")] string Target,
        [property: System.Text.Json.Serialization.JsonPropertyName("files")] IReadOnlyList<ManifestEntry> Files,
        [property: System.Text.Json.Serialization.JsonPropertyName("branch"),
                   System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        string? Branch);
}
