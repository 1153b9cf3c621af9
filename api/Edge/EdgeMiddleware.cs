using System.Net;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Api.Edge;

/// <summary>
/// Routes by Host. <c>{id}.{base}</c> serves that deployment; other hosts under the base domain are aliases (an unknown
/// one gets the 404 page); the base domain itself, IP addresses and <see cref="EdgeOptions.ApiHosts"/> are the API; any
/// other host is a custom domain (<see cref="CustomDomains"/>: its project's production alias) or, if an alias says so, that alias; else the API. In the steady state a request makes no grain call:
/// alias, manifest and file all come from memory. A server deployment's requests (any method) go to its process
/// through <see cref="ServerProxy"/>, whose endpoint is in memory too.
/// </summary>
public sealed class EdgeMiddleware(EdgeOptions options, AliasCache aliases, ManifestCache manifests, FileCache files, ServerProxy servers, CustomDomains domains,
    ILogger<EdgeMiddleware> logger)
    : IMiddleware
{
    private const int MaxRewrites = 8;
    private readonly string _dottedBase = "." + options.BaseDomain;
    private readonly HashSet<string> _apiHosts = new(options.ApiHosts, StringComparer.Ordinal);

    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var host = http.Request.Host.Host.ToLowerInvariant().TrimEnd('.');
        if (host.Length == 0 || host == options.BaseDomain || _apiHosts.Contains(host) || IPAddress.TryParse(host, out _))
        {
            await next(http);
            return;
        }

        // Everything from here is the edge's answer: counted by status class and cache result (clouddeck.edge.requests).
        var cache = CacheBypass;
        var failed = false;
        try
        {
            cache = await AnswerAsync(http, host, next);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            CloudDeckMetrics.EdgeRequest(failed ? StatusCodes.Status500InternalServerError : http.Response.StatusCode, cache);
        }
    }

    private const string CacheBypass = "bypass";

    /// <returns>The cache result: hit or miss for a stored file, bypass for anything else.</returns>
    private async Task<string> AnswerAsync(HttpContext http, string host, RequestDelegate next)
    {
        var underBase = host.EndsWith(_dottedBase, StringComparison.Ordinal);
        string? deploymentId;
        if (underBase && DeploymentIds.IsWellFormed(host.AsSpan(0, host.Length - _dottedBase.Length).ToString()))
        {
            deploymentId = host[..^_dottedBase.Length];
        }
        else if (!underBase && domains.Find(host) is { Verified: true } route)
        {
            // A verified custom domain serves its project's production alias (ACME challenges and redirects answered first).
            if (await domains.RouteAsync(http, host, route) is not { } served) return CacheBypass;
            deploymentId = await aliases.ResolveAsync(served);
            if (deploymentId is null)
            {
                await EdgePages.UnknownHostAsync(http, host);
                return CacheBypass;
            }
        }
        else
        {
            deploymentId = await aliases.ResolveAsync(host);
            if (deploymentId is null)
            {
                if (underBase) await EdgePages.UnknownHostAsync(http, host);
                else await next(http);
                return CacheBypass;
            }
        }

        EdgeSite? site;
        try
        {
            site = await manifests.GetAsync(deploymentId);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "The edge could not load deployment {DeploymentId} for {Host}", deploymentId, host);
            await EdgePages.UnavailableAsync(http);
            return CacheBypass;
        }

        if (site is null) await EdgePages.NotReadyAsync(http, deploymentId);
        else if (site.Server is not null && IsRead(http) && site.ImmutableAsset(http.Request.Path.Value ?? "/") is { } asset)
        {
            // A framework's fingerprinted files come from the artifact store, never bothering (or cold-starting) the server.
            return await SendFileAsync(http, site, asset, StatusCodes.Status200OK, null);
        }
        else if (site.Server is not null) await servers.ProxyAsync(http, deploymentId);
        else if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)) await EdgePages.MethodNotAllowedAsync(http);
        else return await ServeAsync(http, site);
        return CacheBypass;
    }

    private async Task<string> ServeAsync(HttpContext http, EdgeSite site)
    {
        http.Response.Headers[EdgePages.ServedByHeader] = site.Id;
        var path = http.Request.Path.Value is { Length: > 0 } value ? value : "/";
        var routing = site.Routing;
        var headers = MatchingHeaders(routing, path);

        foreach (var redirect in routing.Redirects)
        {
            if (redirect.Source.Match(path) is { Success: true } match)
            {
                var target = redirect.Source.Substitute(match, redirect.Destination);
                if (!target.Contains('?', StringComparison.Ordinal)) target += http.Request.QueryString.Value;
                http.Response.StatusCode = redirect.Status;
                http.Response.Headers.Location = target;
                AddHeaders(http, headers);
                return CacheBypass;
            }
        }

        var file = site.Find(path);
        if (file is null && site.IsDirectory(path))
        {
            http.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
            http.Response.Headers.Location = path + "/" + http.Request.QueryString.Value;
            return CacheBypass;
        }

        // Files win over rewrites (as on Vercel); a rewrite may lead to another rewrite, a few times at most.
        var served = path;
        for (var i = 0; file is null && i < MaxRewrites; i++)
        {
            var rewritten = Rewrite(routing, served);
            if (rewritten is null) break;
            served = rewritten;
            file = site.Find(served);
        }

        var status = StatusCodes.Status200OK;
        if (file is null && site.Spa && !Path.HasExtension(path) && site.Files.TryGetValue("index.html", out var index))
        {
            file = index;
        }

        if (file is null && site.NotFoundPage is { } notFound)
        {
            file = notFound;
            status = StatusCodes.Status404NotFound;
        }

        if (file is null)
        {
            AddHeaders(http, headers);
            await EdgePages.MissingFileAsync(http);
            return CacheBypass;
        }

        // Type and cache policy follow the file served (index.html for "/", the SPA's page), not the URL asked for.
        return await SendFileAsync(http, site, file, status, headers);
    }

    private static bool IsRead(HttpContext http) => HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method);

    /// <returns>The cache result: hit or miss.</returns>
    private async Task<string> SendFileAsync(HttpContext http, EdgeSite site, SiteFile file, int status, List<KeyValuePair<string, string>>? headers)
    {
        http.Response.Headers[EdgePages.ServedByHeader] = site.Id;
        var hit = files.Contains(file.File.Sha256);
        var cached = await files.GetAsync(file.File.Sha256, http.RequestAborted);
        if (cached is null)
        {
            logger.LogError("Deployment {DeploymentId} lists {Path} ({Sha256}), which is not in the artifact store", site.Id, file.File.Path, file.File.Sha256);
            await EdgePages.UnavailableAsync(http);
            return CacheBypass;
        }

        await StaticFileResponder.WriteAsync(http, cached, file, status, headers);
        return hit ? "hit" : "miss";
    }

    private static string? Rewrite(EdgeRouting routing, string path)
    {
        foreach (var rewrite in routing.Rewrites)
        {
            if (rewrite.Source.Match(path) is { Success: true } match)
            {
                var target = rewrite.Source.Substitute(match, rewrite.Destination);
                var query = target.IndexOf('?');
                return query >= 0 ? target[..query] : target;
            }
        }

        return null;
    }

    private static List<KeyValuePair<string, string>>? MatchingHeaders(EdgeRouting routing, string path)
    {
        List<KeyValuePair<string, string>>? matched = null;
        foreach (var rule in routing.Headers)
        {
            if (rule.Source.Match(path).Success) (matched ??= []).AddRange(rule.Values);
        }

        return matched;
    }

    private static void AddHeaders(HttpContext http, List<KeyValuePair<string, string>>? headers)
    {
        if (headers is null) return;
        foreach (var (key, value) in headers) http.Response.Headers.Append(key, value);
    }
}
