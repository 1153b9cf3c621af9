using System.IO.Compression;
using System.Net;
using System.Text;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Api.Edge;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>The edge end to end in the real API host: hosts, content types, caching headers, encodings and ranges.</summary>
public sealed class EdgeServingTests : IAsyncDisposable
{
    private const string Alias = "web-acme.localhost";
    private static readonly string Script = string.Concat(Enumerable.Repeat("export const answer = () => 42; // padding so it compresses\n", 200));

    // Files above 4 KiB are sent from disk, so both ways of sending are exercised.
    private readonly EdgeHost _edge = new(new Dictionary<string, string?> { ["CloudDeck:Edge:MaxMemoryFileBytes"] = "4096" });

    private static Dictionary<string, byte[]> Site() => new()
    {
        ["index.html"] = Encoding.UTF8.GetBytes("<!doctype html><h1>home</h1>"),
        ["about/index.html"] = Encoding.UTF8.GetBytes("<h1>about</h1>"),
        ["assets/index-3f2a9c1b.js"] = Encoding.UTF8.GetBytes(Script),
        ["assets/style.css"] = Encoding.UTF8.GetBytes("body{color:red}"),
        ["logo.svg"] = Encoding.UTF8.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
        ["data.json"] = Encoding.UTF8.GetBytes("{\"a\":1}"),
        ["font.woff2"] = [1, 2, 3],
        ["photo.png"] = [.. Enumerable.Range(0, 1000).Select(i => (byte)i)],
        ["big.bin"] = [.. Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7))],
    };

    [Fact]
    public async Task Files_are_served_at_the_deployment_host_and_its_alias_with_their_content_types_and_cache_policy()
    {
        var id = await _edge.PublishAsync(Site());
        await _edge.Grains.GetGrain<IAliasGrain>(Alias).Set("acme/web", id);

        foreach (var host in new[] { $"{id}.localhost", Alias, $"{id}.LOCALHOST:8080" })
        {
            var home = await _edge.GetAsync(host, "/");
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
            Assert.Equal("<!doctype html><h1>home</h1>", await home.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            Assert.Equal("text/html; charset=utf-8", home.Content.Headers.ContentType!.ToString());
            Assert.Equal("no-cache", home.Headers.CacheControl!.ToString());
            Assert.Equal(id, home.Headers.GetValues(EdgePages.ServedByHeader).Single());
        }

        // As HttpClient prints Cache-Control (it reorders the directives).
        var expected = new Dictionary<string, (string Type, string Cache)>
        {
            ["/assets/index-3f2a9c1b.js"] = ("text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
            ["/assets/style.css"] = ("text/css; charset=utf-8", "public, must-revalidate, max-age=0"),
            ["/logo.svg"] = ("image/svg+xml; charset=utf-8", "public, must-revalidate, max-age=0"),
            ["/data.json"] = ("application/json; charset=utf-8", "public, must-revalidate, max-age=0"),
            ["/font.woff2"] = ("font/woff2", "public, must-revalidate, max-age=0"),
            ["/photo.png"] = ("image/png", "public, must-revalidate, max-age=0"),
            ["/about/"] = ("text/html; charset=utf-8", "no-cache"),
        };
        foreach (var (path, (type, cache)) in expected)
        {
            var response = await _edge.GetAsync(Alias, path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode}");
            Assert.Equal((path, type, cache), (path, response.Content.Headers.ContentType!.ToString(), response.Headers.CacheControl!.ToString()));
        }

        Assert.Equal(Site()["big.bin"], await (await _edge.GetAsync(Alias, "/big.bin")).Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        var directory = await _edge.GetAsync(Alias, "/about?x=1");
        Assert.Equal((HttpStatusCode.PermanentRedirect, "/about/?x=1"), (directory.StatusCode, directory.Headers.Location!.OriginalString));
    }

    [Fact]
    public async Task An_etag_the_client_has_gets_304_and_head_gets_the_headers_without_a_body()
    {
        var id = await _edge.PublishAsync(Site());
        var first = await _edge.GetAsync($"{id}.localhost", "/assets/style.css");
        var etag = first.Headers.ETag!.ToString();

        var again = await _edge.GetAsync($"{id}.localhost", "/assets/style.css", ("If-None-Match", etag));
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        Assert.Equal(etag, again.Headers.ETag!.ToString());
        Assert.Empty(await again.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        var changed = await _edge.GetAsync($"{id}.localhost", "/assets/style.css", ("If-None-Match", "\"something-else\""));
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);

        var head = await _edge.SendAsync(HttpMethod.Head, $"{id}.localhost", "/photo.png");
        Assert.Equal((HttpStatusCode.OK, 1000L, "image/png"), (head.StatusCode, head.Content.Headers.ContentLength, head.Content.Headers.ContentType!.MediaType));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
        var post = await _edge.SendAsync(HttpMethod.Post, $"{id}.localhost", "/photo.png");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
    }

    [Theory]
    [InlineData("/photo.png", "bytes=10-19", 10, 10, 1000)]
    [InlineData("/photo.png", "bytes=-5", 995, 5, 1000)]
    [InlineData("/photo.png", "bytes=990-", 990, 10, 1000)]
    [InlineData("/big.bin", "bytes=50000-50099", 50000, 100, 100_000)]
    public async Task A_range_gets_206_with_that_slice(string path, string range, int offset, int length, int total)
    {
        var id = await _edge.PublishAsync(Site());
        var response = await _edge.GetAsync($"{id}.localhost", path, ("Range", range));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {offset}-{offset + length - 1}/{total}", response.Content.Headers.ContentRange!.ToString());
        Assert.Equal(Site()[path[1..]].AsSpan(offset, length).ToArray(), await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_range_beyond_the_end_gets_416()
    {
        var id = await _edge.PublishAsync(Site());
        var response = await _edge.GetAsync($"{id}.localhost", "/photo.png", ("Range", "bytes=5000-"));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */1000", response.Content.Headers.ContentRange!.ToString());
    }

    [Theory]
    [InlineData("br", "br")]
    [InlineData("gzip, deflate", "gzip")]
    [InlineData("gzip;q=1.0, br;q=0", "gzip")]
    [InlineData("identity", null)]
    public async Task Text_is_compressed_as_the_client_accepts(string acceptEncoding, string? expected)
    {
        var id = await _edge.PublishAsync(Site());
        var response = await _edge.GetAsync($"{id}.localhost", "/assets/index-3f2a9c1b.js", ("Accept-Encoding", acceptEncoding));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, response.Content.Headers.ContentEncoding.SingleOrDefault());
        Assert.Contains("Accept-Encoding", response.Headers.Vary);
        var bytes = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Stream body = expected switch
        {
            "br" => new BrotliStream(new MemoryStream(bytes), CompressionMode.Decompress),
            "gzip" => new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress),
            _ => new MemoryStream(bytes),
        };
        Assert.Equal(Script, await new StreamReader(body).ReadToEndAsync(TestContext.Current.CancellationToken));
        if (expected is not null) Assert.True(bytes.Length < Script.Length / 4, $"{expected}: {bytes.Length} bytes");
        var images = await _edge.GetAsync($"{id}.localhost", "/photo.png", ("Accept-Encoding", acceptEncoding));
        Assert.Empty(images.Content.Headers.ContentEncoding);
    }

    [Fact]
    public async Task A_single_page_app_falls_back_to_index_html_but_a_missing_asset_is_404()
    {
        var id = await _edge.PublishAsync(Site());

        var route = await _edge.GetAsync($"{id}.localhost", "/dashboard/settings");
        Assert.Equal(HttpStatusCode.OK, route.StatusCode);
        Assert.Equal("<!doctype html><h1>home</h1>", await route.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var asset = await _edge.GetAsync($"{id}.localhost", "/assets/missing-3f2a9c1b.js");
        Assert.Equal(HttpStatusCode.NotFound, asset.StatusCode);
        Assert.Contains("Page not found", await asset.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        // A site with its own 404.html is not a single-page app: unknown paths get that page with 404.
        var withPage = Site();
        withPage["404.html"] = Encoding.UTF8.GetBytes("<h1>custom 404</h1>");
        var other = await _edge.PublishAsync(withPage);
        var missing = await _edge.GetAsync($"{other}.localhost", "/dashboard/settings");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("<h1>custom 404</h1>", await missing.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Clouddeck_json_redirects_rewrites_and_headers_apply()
    {
        const string config = """
            {
              "spa": false,
              "cleanUrls": true,
              "redirects": [
                { "source": "/old/:path*", "destination": "/new/:path*", "permanent": true },
                { "source": "/docs", "destination": "https://docs.example.com/", "statusCode": 302 }
              ],
              "rewrites": [ { "source": "/blog/:slug", "destination": "/post.html?slug=:slug" } ],
              "headers": [
                { "source": "/assets/(.*)", "headers": [ { "key": "X-Frame-Options", "value": "DENY" } ] },
                { "source": "/:any*", "headers": [ { "key": "X-Site", "value": "acme" } ] }
              ]
            }
            """;
        var files = Site();
        files["post.html"] = Encoding.UTF8.GetBytes("<h1>post</h1>");
        files["pricing.html"] = Encoding.UTF8.GetBytes("<h1>pricing</h1>");
        var id = await _edge.PublishAsync(files, config);
        var host = $"{id}.localhost";

        var moved = await _edge.GetAsync(host, "/old/a/b?q=1");
        Assert.Equal((HttpStatusCode.PermanentRedirect, "/new/a/b?q=1"), (moved.StatusCode, moved.Headers.Location!.OriginalString));
        var external = await _edge.GetAsync(host, "/docs");
        Assert.Equal((HttpStatusCode.Found, "https://docs.example.com/"), (external.StatusCode, external.Headers.Location!.OriginalString));

        var post = await _edge.GetAsync(host, "/blog/hello");
        Assert.Equal((HttpStatusCode.OK, "<h1>post</h1>"), (post.StatusCode, await post.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)));
        var clean = await _edge.GetAsync(host, "/pricing");
        Assert.Equal((HttpStatusCode.OK, "<h1>pricing</h1>"), (clean.StatusCode, await clean.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)));

        var asset = await _edge.GetAsync(host, "/assets/style.css");
        Assert.Equal("DENY", asset.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("acme", asset.Headers.GetValues("X-Site").Single());
        Assert.False((await _edge.GetAsync(host, "/data.json")).Headers.Contains("X-Frame-Options"));

        // "spa": false: an unknown route is a 404, not index.html.
        Assert.Equal(HttpStatusCode.NotFound, (await _edge.GetAsync(host, "/dashboard")).StatusCode);
    }

    [Fact]
    public async Task Unknown_hosts_and_unready_deployments_get_a_404_page_while_the_api_host_reaches_the_api()
    {
        var unknown = await _edge.GetAsync("nothing-here.localhost", "/");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("text/html", unknown.Content.Headers.ContentType!.MediaType);
        var page = await unknown.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("No deployment here", page);
        Assert.Contains("nothing-here.localhost", page);

        var unready = await _edge.GetAsync("0123456789abcdef.localhost", "/");
        Assert.Equal(HttpStatusCode.NotFound, unready.StatusCode);
        Assert.Contains("not ready", await unready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.OK, (await _edge.GetAsync("localhost", "/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _edge.GetAsync("127.0.0.1", "/healthz")).StatusCode);
        // Not under the base domain and no alias: not a deployment, so the API answers.
        Assert.Equal(HttpStatusCode.OK, (await _edge.GetAsync("my-laptop.lan", "/healthz")).StatusCode);
    }

    [Fact]
    public async Task An_alias_change_or_a_deletion_is_seen_without_a_restart_and_each_manifest_is_loaded_once()
    {
        var first = await _edge.PublishAsync(new Dictionary<string, byte[]> { ["index.html"] = "one"u8.ToArray() });
        var second = await _edge.PublishAsync(new Dictionary<string, byte[]> { ["index.html"] = "two"u8.ToArray() });
        var alias = _edge.Grains.GetGrain<IAliasGrain>(Alias);
        await alias.Set("acme/web", first);
        Assert.Equal("one", await BodyAsync());

        await alias.Set("acme/web", second);
        Assert.Equal("two", await EventuallyAsync("two"));
        await alias.Set("acme/web", first);
        Assert.Equal("one", await EventuallyAsync("one"));
        for (var i = 0; i < 20; i++) Assert.Equal("one", await BodyAsync());
        Assert.Equal(2, _edge.ManifestLoads);

        await alias.Remove();
        await EventuallyAsync(null);
        Assert.Equal(HttpStatusCode.NotFound, (await _edge.GetAsync(Alias, "/")).StatusCode);

        // A deleted deployment announces itself on the same stream: the edge forgets its manifest and asks again.
        await _edge.DeleteAsync(first);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await _edge.GetAsync($"{first}.localhost", "/")).StatusCode == HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await _edge.GetAsync($"{first}.localhost", "/")).StatusCode);
    }

    private async Task<string?> BodyAsync()
    {
        var response = await _edge.GetAsync(Alias, "/");
        return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken) : null;
    }

    /// <summary>The stream delivers the change soon but not within the write's call: wait for it (a deadline, not a timing claim).</summary>
    private async Task<string?> EventuallyAsync(string? expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string? body;
        while ((body = await BodyAsync()) != expected && DateTime.UtcNow < deadline) await Task.Delay(20, TestContext.Current.CancellationToken);
        return body;
    }

    public async ValueTask DisposeAsync() => await _edge.DisposeAsync();
}
