using System.Net;
using System.Security.Cryptography;
using System.Text;
using CloudDeck.Api.Endpoints;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// <c>files/missing</c> is read as a stream and bounded: a body past <see cref="MissingFilesReader.MaxBodyBytes"/> or with
/// more than <see cref="MissingFilesReader.MaxFiles"/> entries is refused (with or without Content-Length), while a
/// normal request answers as before.
/// </summary>
public sealed class MissingFilesLimitTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new();

    private static string Entries(int count, bool withPaths = false)
    {
        var body = new StringBuilder("{\"files\":[");
        for (var i = 0; i < count; i++)
        {
            if (i > 0) body.Append(',');
            var sha = Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)));
            body.Append(withPaths ? $"{{\"path\":\"f/{i}.html\",\"sha256\":\"{sha}\",\"size\":{i}}}" : $"{{\"sha256\":\"{sha}\",\"size\":{i}}}");
        }

        return body.Append("]}").ToString();
    }

    [Fact]
    public async Task More_entries_than_a_request_may_ask_about_are_refused_naming_files()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var url = $"/api/v1/orgs/{owner.PersonalOrganization}/files/missing";

        var atLimit = (await _api.PostAsync(url, Entries(MissingFilesReader.MaxFiles), owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal(MissingFilesReader.MaxFiles, atLimit["missing"]!.AsArray().Count);

        var over = await _api.PostAsync(url, Entries(MissingFilesReader.MaxFiles + 1), owner.AccessToken);
        Assert.Contains("files", over.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key));
    }

    [Fact]
    public async Task A_body_past_the_limit_is_refused_with_or_without_content_length()
    {
        var owner = await _api.SignUpAndLoginAsync("ada@example.com");
        var url = $"/api/v1/orgs/{owner.PersonalOrganization}/files/missing";
        // Few entries, each padded by an unknown field: the entry count is fine, the bytes are not.
        var padding = new string('x', 600 * 1024);
        var sha = new string('a', 64);
        var big = $"{{\"files\":[{string.Join(',', Enumerable.Range(0, 4).Select(i => $"{{\"sha256\":\"{sha}\",\"size\":1,\"note\":\"{padding}\"}}"))}]}}";
        Assert.True(Encoding.UTF8.GetByteCount(big) > MissingFilesReader.MaxBodyBytes);

        var announced = await _api.PostAsync(url, big, owner.AccessToken);
        Assert.Contains("body", announced.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key));
        var chunked = await _api.PostAsync(url, new ChunkedJson(big), owner.AccessToken);
        Assert.Contains("body", chunked.Expect(HttpStatusCode.BadRequest)["errors"]!.AsObject().Select(e => e.Key));

        // Streamed in chunks, a normal body (a whole manifest with paths) still answers every hash.
        var normal = await _api.PostAsync(url, new ChunkedJson(Entries(1000, withPaths: true)), owner.AccessToken);
        Assert.Equal(1000, normal.Expect(HttpStatusCode.OK)["missing"]!.AsArray().Count);
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
