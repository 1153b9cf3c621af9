using System.Collections.Frozen;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Servers;

namespace CloudDeck.Api.Edge;

/// <summary>A file of a deployment with what its responses say about it, worked out once when the manifest is loaded.</summary>
public sealed record SiteFile(ManifestFile File, string ContentType, bool Compressible, string CacheControl)
{
    public static SiteFile Of(ManifestFile file)
    {
        var path = "/" + file.Path;
        var (type, compressible) = StaticFileResponder.ContentType(path);
        return new SiteFile(file, type, compressible, StaticFileResponder.CacheControl(path, type));
    }
}

/// <summary>One ready deployment as the edge serves it: its files by URL path and its routing config.</summary>
public sealed class EdgeSite
{
    private EdgeSite(string id, FrozenDictionary<string, SiteFile> files, EdgeRouting routing, ServerSpec? server)
    {
        Id = id;
        Server = server;
        Files = files;
        Routing = routing;
        files.TryGetValue("404.html", out var notFound);
        NotFoundPage = notFound;
        // Without a config saying otherwise, a site with an index.html and no 404.html is taken for a single-page app.
        Spa = routing.Spa ?? (files.ContainsKey("index.html") && notFound is null);
    }

    public const string RoutingConfigFile = "clouddeck.json";

    public string Id { get; }

    /// <summary>Set for a server deployment: its requests go to its process, not to files.</summary>
    public ServerSpec? Server { get; }

    /// <summary>Keyed by the manifest's path (no leading '/'); for a server, only its immutable assets, keyed by URL path.</summary>
    public FrozenDictionary<string, SiteFile> Files { get; }

    public EdgeRouting Routing { get; }

    public SiteFile? NotFoundPage { get; }

    public bool Spa { get; }

    public static EdgeSite From(string id, DeploymentManifest manifest, ILogger logger)
    {
        var routing = EdgeRouting.Empty;
        try
        {
            routing = EdgeRouting.Parse(manifest.RoutingConfig);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException)
        {
            // The build should have refused it; serving the files without the rules beats serving nothing.
            logger.LogWarning("Deployment {DeploymentId}: clouddeck.json ignored ({Problem})", id, e.Message);
        }

        if (manifest.Server is { } server) return new EdgeSite(id, ImmutableAssets(manifest, server), routing, server);

        // The routing config is the platform's input, not the site's content: never served as a file.
        var files = manifest.Files.Where(f => ManifestValidation.PathProblem(f.Path) is null && ManifestValidation.IsSha256(f.Sha256) && f.Path != RoutingConfigFile)
            .GroupBy(f => f.Path, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => SiteFile.Of(g.First()), StringComparer.Ordinal);
        return new EdgeSite(id, files, routing, manifest.Server);
    }

    /// <summary>
    /// A server's files under the prefixes its framework marks immutable (<see cref="ServerSpec.StaticRoutes"/>), keyed by
    /// the URL path they answer (<c>_next/static/chunks/x.js</c> for <c>.next/static/chunks/x.js</c>): only those, so the
    /// rest of the server (its code, node_modules) is never reachable as a file.
    /// </summary>
    private static FrozenDictionary<string, SiteFile> ImmutableAssets(DeploymentManifest manifest, ServerSpec server)
    {
        var assets = new Dictionary<string, SiteFile>(StringComparer.Ordinal);
        foreach (var route in server.StaticRoutes ?? [])
        {
            if (!route.UrlPrefix.StartsWith('/') || !route.UrlPrefix.EndsWith('/') || !route.Directory.EndsWith('/')) continue;
            var urlPrefix = route.UrlPrefix[1..];
            foreach (var file in manifest.Files)
            {
                if (!file.Path.StartsWith(route.Directory, StringComparison.Ordinal) || ManifestValidation.PathProblem(file.Path) is not null
                    || !ManifestValidation.IsSha256(file.Sha256)) continue;
                var relative = file.Path[route.Directory.Length..];
                if (route.Except?.Any(e => relative.StartsWith(e, StringComparison.Ordinal)) == true) continue;
                assets.TryAdd(urlPrefix + relative, SiteFile.Of(file) with { CacheControl = StaticFileResponder.Immutable });
            }
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>A server deployment's immutable asset at <paramref name="path"/> (decoded, starting with '/'), or null: the server answers.</summary>
    public SiteFile? ImmutableAsset(string path) => Server is not null && path.Length > 1 ? Files.GetValueOrDefault(path[1..]) : null;

    /// <summary>
    /// The file a URL path names: itself, <c>index.html</c> for a directory, and with clean URLs <c>x.html</c> for
    /// <c>/x</c>. <paramref name="path"/> is decoded and starts with '/'.
    /// </summary>
    public SiteFile? Find(string path)
    {
        var relative = path.AsSpan(1);
        if (relative.Length == 0) return Files.GetValueOrDefault("index.html");
        var lookup = Files.GetAlternateLookup<ReadOnlySpan<char>>();
        if (relative[^1] == '/') return Files.GetValueOrDefault(string.Concat(relative, "index.html"));
        if (lookup.TryGetValue(relative, out var file)) return file;
        if (Routing.CleanUrls) return Files.GetValueOrDefault(string.Concat(relative, ".html")) ?? Files.GetValueOrDefault(string.Concat(relative, "/index.html"));
        return null;
    }

    /// <summary>A directory without the trailing slash (<c>/docs</c> with <c>docs/index.html</c>): redirect, so relative links resolve.</summary>
    public bool IsDirectory(string path) => path.Length > 1 && path[^1] != '/' && Files.ContainsKey(string.Concat(path.AsSpan(1), "/index.html"));
}
