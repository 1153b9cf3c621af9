using CloudDeck.Cli.Api;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Deploy;

namespace CloudDeck.Cli.Tests.Unit;

/// <summary>The JSON bodies of an upload deployment, as the contract spells them.</summary>
public sealed class ManifestTests
{
    private static HashedFile File(string path, char hash, long size = 1) => new(path, "/tmp/" + path, new string(hash, 64), size);

    [Fact]
    public async Task The_deployment_body_has_target_and_path_sha256_size_per_file_sorted_and_no_branch_when_none()
    {
        var body = Manifest.DeploymentRequest([File("b.js", 'b', 2), File("a.html", 'a', 10)], production: true);

        var json = await Serialize(body);

        Assert.Equal("production", json["target"]!.GetValue<string>());
        Assert.Null(json["branch"]);
        var files = json["files"]!.AsArray();
        Assert.Equal(2, files.Count);
        Assert.Equal("a.html", files[0]!["path"]!.GetValue<string>());
        Assert.Equal(new string('a', 64), files[0]!["sha256"]!.GetValue<string>());
        Assert.Equal(10, files[0]!["size"]!.GetValue<long>());
        Assert.Equal(["path", "sha256", "size"], files[0]!.AsObject().Select(p => p.Key).ToArray());
    }

    [Fact]
    public async Task A_preview_body_says_preview()
    {
        var json = await Serialize(Manifest.DeploymentRequest([File("a", 'a')], production: false));
        Assert.Equal("preview", json["target"]!.GetValue<string>());
    }

    [Fact]
    public async Task Missing_requests_ask_about_each_content_once_in_batches_under_the_body_limit()
    {
        var files = Enumerable.Range(0, 1200).Select(i => new HashedFile($"f{i}", $"/tmp/f{i}", i.ToString("x64"), i)).ToList();
        files.Add(new HashedFile("copy-of-f0", "/tmp/copy", files[0].Sha256, 0));

        var bodies = Manifest.MissingRequests(files).ToList();
        var jsons = new List<JsonNode>();
        foreach (var body in bodies) jsons.Add(await Serialize(body));

        Assert.Equal(3, bodies.Count);
        Assert.Equal(1200, jsons.Sum(j => j["files"]!.AsArray().Count));
        Assert.All(jsons, j => Assert.True(j.ToJsonString().Length < 64 * 1024, "a batch must fit the API's 64 KiB JSON limit"));
        var first = jsons[0]["files"]![0]!;
        Assert.Equal(["sha256", "size"], first.AsObject().Select(p => p.Key).ToArray());
    }

    /// <summary>Serialized the way ApiClient sends it (ApiClient.Json).</summary>
    private static async Task<JsonNode> Serialize(JsonNode body) =>
        JsonNode.Parse(await ApiClient.Json(body).ReadAsStringAsync(TestContext.Current.CancellationToken))!;
}
