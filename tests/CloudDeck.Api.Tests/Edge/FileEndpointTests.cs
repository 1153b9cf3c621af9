using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>Hash-based uploads through the real API: only missing files are asked for, and a wrong upload stores nothing.</summary>
public sealed class FileEndpointTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new(settings: new Dictionary<string, string?> { ["CloudDeck:Artifacts:MaxFileBytes"] = "4096" });

    private IArtifactStore Store => _api.Services.GetRequiredService<IArtifactStore>();

    private static (byte[] Bytes, string Sha256) Content(string text)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    private static ByteArrayContent Raw(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    /// <summary>Every stored file (the store's temporary directory must be empty too).</summary>
    private string[] Stored() => Directory.GetFiles(((LocalArtifactStore)Store).Root, "*", SearchOption.AllDirectories)
        .Where(f => !f.StartsWith(Path.Combine(((LocalArtifactStore)Store).Root, "orgs") + Path.DirectorySeparatorChar, StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task Missing_lists_the_hashes_not_stored_and_put_stores_each_once()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var org = owner.PersonalOrganization;
        var (index, indexSha) = Content("<h1>hi</h1>");
        var (script, scriptSha) = Content("console.log(1)");

        var missing = (await _api.PostAsync($"/api/v1/orgs/{org}/files/missing", new
        {
            files = new object[] { new { sha256 = indexSha, size = index.Length }, new { sha256 = scriptSha, size = script.Length }, new { sha256 = indexSha, size = index.Length } },
        }, owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal([indexSha, scriptSha], missing["missing"]!.AsArray().Select(n => n!.GetValue<string>()));

        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{indexSha}", Raw(index), owner.AccessToken)).Expect(HttpStatusCode.Created);
        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{indexSha}?size={index.Length}", Raw(index), owner.AccessToken)).Expect(HttpStatusCode.OK);

        var after = (await _api.PostAsync($"/api/v1/orgs/{org}/files/missing", new
        {
            files = new object[] { new { path = "index.html", sha256 = indexSha, size = index.Length }, new { path = "app.js", sha256 = scriptSha, size = script.Length } },
        }, owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal([scriptSha], after["missing"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(index, await File.ReadAllBytesAsync(Store.PathOf(indexSha), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task An_upload_whose_hash_or_size_does_not_match_is_refused_and_nothing_is_stored()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var org = owner.PersonalOrganization;
        var (bytes, sha) = Content("the real content");
        var (_, otherSha) = Content("other content");

        var wrongHash = await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{otherSha}", Raw(bytes), owner.AccessToken);
        Assert.Contains("sha256", wrongHash.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key));
        var wrongSize = await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{sha}?size={bytes.Length + 1}", Raw(bytes), owner.AccessToken);
        Assert.Contains("size", wrongSize.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key));
        var badHash = await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/not-a-hash", Raw(bytes), owner.AccessToken);
        Assert.Contains("sha256", badHash.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key));
        var big = new byte[5000];
        var tooLarge = await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{Convert.ToHexStringLower(SHA256.HashData(big))}", Raw(big), owner.AccessToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.Status);
        // Without Content-Length (chunked) the size cannot be checked before the body is read: refused.
        var chunked = await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{sha}", new ChunkedJson("the real content"), owner.AccessToken);
        Assert.Equal(HttpStatusCode.LengthRequired, chunked.Status);

        Assert.False(Store.Contains(sha));
        Assert.False(Store.Contains(otherSha));
        Assert.Empty(Stored());
    }

    [Fact]
    public async Task Manifests_with_escaping_paths_bad_hashes_or_sizes_are_refused_naming_each_field()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var (_, sha) = Content("x");

        var answer = await _api.PostAsync($"/api/v1/orgs/{owner.PersonalOrganization}/files/missing", new
        {
            files = new object[]
            {
                new { path = "../../etc/passwd", sha256 = sha, size = 1 },
                new { path = "/etc/passwd", sha256 = sha, size = 1 },
                new { path = "ok.html", sha256 = "ABC", size = 1 },
                new { path = "neg.html", sha256 = sha, size = -1 },
                new { path = "big.bin", sha256 = sha, size = 5000 },
                new { path = "ok.html", sha256 = sha, size = 1 },
            },
        }, owner.AccessToken);

        var errors = answer.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key).Order().ToList();
        Assert.Equal(["files[0].path", "files[1].path", "files[2].sha256", "files[3].size", "files[4].size", "files[5].path"], errors);
        Assert.Equal(HttpStatusCode.BadRequest, (await _api.PostAsync($"/api/v1/orgs/{owner.PersonalOrganization}/files/missing", new { files = "nope" }, owner.AccessToken)).Status);
    }

    [Fact]
    public async Task Another_tenant_gets_not_found_and_stores_nothing()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var outsider = await _api.SignUpAndLoginAsync("eve@example.com");
        var (bytes, sha) = Content("secret");

        (await _api.PostAsync($"/api/v1/orgs/{owner.PersonalOrganization}/files/missing", new { files = new[] { new { sha256 = sha, size = bytes.Length } } }, outsider.AccessToken))
            .Expect(HttpStatusCode.NotFound);
        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{owner.PersonalOrganization}/files/{sha}", Raw(bytes), outsider.AccessToken)).Expect(HttpStatusCode.NotFound);
        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{owner.PersonalOrganization}/files/{sha}", Raw(bytes))).Expect(HttpStatusCode.Unauthorized);

        Assert.False(Store.Contains(sha));
    }

    [Fact]
    public async Task The_store_answers_each_organization_only_about_contents_it_uploaded_itself_and_stores_them_once()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var eve = await _api.SignUpAndLoginAsync("eve@example.com");
        var (bytes, sha) = Content("ada's private page");
        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{ada.PersonalOrganization}/files/{sha}", Raw(bytes), ada.AccessToken)).Expect(HttpStatusCode.Created);

        // Eve cannot learn that someone stored it, nor deploy it without having the bytes.
        var asked = (await _api.PostAsync($"/api/v1/orgs/{eve.PersonalOrganization}/files/missing",
            new { files = new[] { new { sha256 = sha, size = bytes.Length } } }, eve.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal([sha], asked["missing"]!.AsArray().Select(n => n!.GetValue<string>()));
        (await _api.PostAsync($"/api/v1/orgs/{eve.PersonalOrganization}/projects", new { name = "site" }, eve.AccessToken)).Expect(HttpStatusCode.Created);
        var deploy = (await _api.PostAsync($"/api/v1/orgs/{eve.PersonalOrganization}/projects/site/deployments",
            new { target = "preview", files = new[] { new { path = "index.html", sha256 = sha, size = bytes.Length } } }, eve.AccessToken));
        Assert.Contains("files", deploy.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key));

        // Uploading the bytes herself gives her the content; it is still stored once.
        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{eve.PersonalOrganization}/files/{sha}", Raw(bytes), eve.AccessToken)).Expect(HttpStatusCode.Created);
        var after = (await _api.PostAsync($"/api/v1/orgs/{eve.PersonalOrganization}/files/missing",
            new { files = new[] { new { sha256 = sha, size = bytes.Length } } }, eve.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Empty(after["missing"]!.AsArray());
        (await _api.PostAsync($"/api/v1/orgs/{eve.PersonalOrganization}/projects/site/deployments",
            new { target = "preview", files = new[] { new { path = "index.html", sha256 = sha, size = bytes.Length } } }, eve.AccessToken)).Expect(HttpStatusCode.Created);
        Assert.Single(Stored());
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
