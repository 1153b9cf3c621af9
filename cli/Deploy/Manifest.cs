using System.Text.Json.Nodes;

namespace CloudDeck.Cli.Deploy;

/// <summary>
/// The request bodies of an upload deployment, built from hashed files as JSON nodes: no reflection, so the native
/// (ahead-of-time compiled) deck sends exactly what the JIT-compiled one does.
/// </summary>
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
    public static IEnumerable<JsonObject> MissingRequests(IReadOnlyList<HashedFile> files) =>
        Distinct(files).Chunk(MissingBatchSize).Select(chunk => new JsonObject
        {
            ["files"] = new JsonArray([.. chunk.Select(f => (JsonNode)new JsonObject { ["sha256"] = f.Sha256, ["size"] = f.Size })]),
        });

    /// <summary>The body of <c>POST /api/v1/orgs/{slug}/projects/{project}/deployments</c> for an upload.</summary>
    public static JsonObject DeploymentRequest(IReadOnlyList<HashedFile> files, bool production, string? branch = null)
    {
        var body = new JsonObject
        {
            ["target"] = production ? "production" : "preview",
            ["files"] = new JsonArray([.. files.OrderBy(f => f.Path, StringComparer.Ordinal)
                .Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["sha256"] = f.Sha256, ["size"] = f.Size })]),
        };
        if (branch is not null) body["branch"] = branch;
        return body;
    }
}
