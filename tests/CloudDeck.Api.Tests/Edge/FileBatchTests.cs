using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.Grains.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>Batched uploads (<c>POST files/batch</c>) through the real API: every file checked, a refused batch stores nothing.</summary>
public sealed class FileBatchTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new(settings: new Dictionary<string, string?>
    {
        ["CloudDeck:Artifacts:MaxFileBytes"] = "4096",
        ["CloudDeck:Artifacts:MaxBatchBytes"] = "10000",
    });

    private IArtifactStore Store => _api.Services.GetRequiredService<IArtifactStore>();

    private string[] Stored() => Directory.GetFiles(((LocalArtifactStore)Store).Root, "*", SearchOption.AllDirectories)
        .Where(f => !f.StartsWith(Path.Combine(((LocalArtifactStore)Store).Root, "orgs") + Path.DirectorySeparatorChar, StringComparison.Ordinal)).ToArray();

    private static (byte[] Bytes, string Sha256) Content(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return (bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>The batch body: per file "&lt;sha256&gt; &lt;size&gt;\n" then the bytes.</summary>
    private static ByteArrayContent Batch(params (string Sha256, long Size, byte[] Bytes)[] files)
    {
        using var body = new MemoryStream();
        foreach (var (sha, size, bytes) in files)
        {
            body.Write(Encoding.ASCII.GetBytes($"{sha} {size}\n"));
            body.Write(bytes);
        }

        var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    [Fact]
    public async Task A_batch_stores_each_file_under_its_hash_and_then_none_is_missing()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var org = owner.PersonalOrganization;
        var (index, indexSha) = Content("<h1>hi</h1>");
        var (script, scriptSha) = Content("console.log(1)");
        var (empty, emptySha) = Content("");

        var answer = (await _api.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{org}/files/batch",
            Batch((indexSha, index.Length, index), (scriptSha, script.Length, script), (emptySha, 0, empty)), owner.AccessToken)).Expect(HttpStatusCode.OK);

        Assert.Equal(3, answer["stored"]!.GetValue<int>());
        Assert.Equal(index, await File.ReadAllBytesAsync(Store.PathOf(indexSha), TestContext.Current.CancellationToken));
        Assert.Equal(script, await File.ReadAllBytesAsync(Store.PathOf(scriptSha), TestContext.Current.CancellationToken));
        var missing = (await _api.PostAsync($"/api/v1/orgs/{org}/files/missing", new
        {
            files = new object[] { new { sha256 = indexSha, size = index.Length }, new { sha256 = scriptSha, size = script.Length }, new { sha256 = emptySha, size = 0 } },
        }, owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Empty(missing["missing"]!.AsArray());
        // Sending stored content again is checked and accepted, and stores nothing new.
        (await _api.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{org}/files/batch", Batch((indexSha, index.Length, index)), owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal(3, Stored().Length);
    }

    [Fact]
    public async Task A_batch_with_one_wrong_file_is_refused_naming_it_and_stores_none_of_its_files()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var org = owner.PersonalOrganization;
        var (good, goodSha) = Content("good file");
        var (bad, _) = Content("bad file");
        var (_, otherSha) = Content("something else");

        async Task<IEnumerable<string>> Refused(HttpContent body) =>
            (await _api.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{org}/files/batch", body, owner.AccessToken)).Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key);

        Assert.Equal(["files[1].sha256"], await Refused(Batch((goodSha, good.Length, good), (otherSha, bad.Length, bad))));
        Assert.Equal(["files[1].size"], await Refused(Batch((goodSha, good.Length, good), (goodSha, good.Length + 5, good))));
        Assert.Equal(["files[1].size"], await Refused(Batch((goodSha, good.Length, good), (otherSha, 5000, []))));
        Assert.Equal(["files[0]"], await Refused(Batch(("not-a-hash", good.Length, good))));
        // A length that runs into the next file's header leaves a header that is no header.
        var shortSha = Convert.ToHexStringLower(SHA256.HashData(good.AsSpan(0, good.Length - 2)));
        Assert.Equal(["files[1]"], await Refused(Batch((shortSha, good.Length - 2, good), (goodSha, good.Length, good))));
        var tooLarge = await _api.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{org}/files/batch", Batch((otherSha, 4000, new byte[4000]), (otherSha, 4000, new byte[4000]), (otherSha, 4000, new byte[4000])), owner.AccessToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.Status);

        Assert.False(Store.Contains(goodSha));
        Assert.Empty(Stored());
    }

    [Fact]
    public async Task Another_tenant_gets_not_found_and_stores_nothing()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var outsider = await _api.SignUpAndLoginAsync("eve@example.com");
        var (bytes, sha) = Content("secret");

        (await _api.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{owner.PersonalOrganization}/files/batch", Batch((sha, bytes.Length, bytes)), outsider.AccessToken)).Expect(HttpStatusCode.NotFound);
        (await _api.SendAsync(HttpMethod.Post, $"/api/v1/orgs/{owner.PersonalOrganization}/files/batch", Batch((sha, bytes.Length, bytes)))).Expect(HttpStatusCode.Unauthorized);

        Assert.False(Store.Contains(sha));
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
