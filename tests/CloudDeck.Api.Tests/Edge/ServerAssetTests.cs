using CloudDeck.Api.Edge;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Servers;
using Microsoft.Extensions.Logging.Abstractions;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// Which files of a deployment the edge answers itself with a year's immutable caching: a server's framework folders
/// (and nothing else of the server), and the same folders in a static site even when their names hide the hash.
/// </summary>
public sealed class ServerAssetTests
{
    private const string Hash = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    [Fact]
    public void A_server_site_serves_only_the_files_under_its_frameworks_immutable_routes_by_url()
    {
        var manifest = new DeploymentManifest(
            [new("server.js", Hash, 1), new(".next/static/chunks/main-ab12cd34ef.js", Hash, 1), new(".next/server/app/page.js", Hash, 1),
             new("public/_nuxt/B1x-9Yq.js", Hash, 1), new("public/_nuxt/builds/latest.json", Hash, 1)],
            null,
            new ServerSpec("node server.js")
            {
                StaticRoutes = [new StaticRoute("/_next/static/", ".next/static/"), new StaticRoute("/_nuxt/", "public/_nuxt/") { Except = ["builds/"] }],
            });

        var site = EdgeSite.From("0123456789abcdef", manifest, NullLogger.Instance);

        var chunk = site.ImmutableAsset("/_next/static/chunks/main-ab12cd34ef.js");
        Assert.Equal((".next/static/chunks/main-ab12cd34ef.js", StaticFileResponder.Immutable), (chunk?.File.Path, chunk?.CacheControl));
        Assert.Equal("public/_nuxt/B1x-9Yq.js", site.ImmutableAsset("/_nuxt/B1x-9Yq.js")?.File.Path);
        // The server's own files, paths outside the routes and the excepted manifests are the server's to answer.
        Assert.Null(site.ImmutableAsset("/server.js"));
        Assert.Null(site.ImmutableAsset("/.next/server/app/page.js"));
        Assert.Null(site.ImmutableAsset("/_nuxt/builds/latest.json"));
        Assert.Null(site.ImmutableAsset("/"));
        Assert.Equal(2, site.Files.Count);
    }

    [Theory]
    [InlineData("/_app/immutable/entry/start.Dq3x-7Pp.js", StaticFileResponder.Immutable)]
    [InlineData("/_astro/index.B32x-ysy.css", StaticFileResponder.Immutable)]
    [InlineData("/_nuxt/st71lMb-.js", StaticFileResponder.Immutable)]
    [InlineData("/_nuxt/builds/latest.json", StaticFileResponder.Revalidate)]
    [InlineData("/_next/static/media/font.woff2", StaticFileResponder.Immutable)]
    [InlineData("/app/start.js", StaticFileResponder.Revalidate)]
    public void Framework_folders_are_immutable_in_static_sites_too(string path, string expected) =>
        Assert.Equal(expected, StaticFileResponder.CacheControl(path, "text/javascript"));
}
