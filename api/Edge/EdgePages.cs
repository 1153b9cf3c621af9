using System.Net;
using System.Text;

namespace CloudDeck.Api.Edge;

/// <summary>The edge's own pages: plain HTML that says what happened and what to do, for browsers and curl alike.</summary>
public static class EdgePages
{
    public const string ServedByHeader = "X-CloudDeck-Edge";

    public static Task UnknownHostAsync(HttpContext http, string host) => WriteAsync(http, StatusCodes.Status404NotFound,
        "No deployment here",
        $"Nothing is deployed at <code>{WebUtility.HtmlEncode(host)}</code>. Check the address, or deploy a project and open the URL it prints.");

    public static Task NotReadyAsync(HttpContext http, string id) => WriteAsync(http, StatusCodes.Status404NotFound,
        "Deployment not available",
        $"Deployment <code>{WebUtility.HtmlEncode(id)}</code> does not exist or is not ready (still building, failed or deleted).");

    public static Task MissingFileAsync(HttpContext http) => WriteAsync(http, StatusCodes.Status404NotFound,
        "Page not found", "This deployment has no file at this path.");

    public static Task MethodNotAllowedAsync(HttpContext http)
    {
        http.Response.Headers.Allow = "GET, HEAD";
        return WriteAsync(http, StatusCodes.Status405MethodNotAllowed, "Method not allowed", "Deployments answer GET and HEAD only.");
    }

    public static Task UnavailableAsync(HttpContext http) => WriteAsync(http, StatusCodes.Status503ServiceUnavailable,
        "Temporarily unavailable", "The deployment could not be loaded just now; try again in a moment.");

    /// <summary>A server deployment that cannot answer: names it and says why (a sentence for its owner, no addresses).</summary>
    public static Task BadGatewayAsync(HttpContext http, string id, string reason) =>
        UpstreamFailedAsync(http, StatusCodes.Status502BadGateway, "Bad gateway", id, reason);

    /// <summary>A server deployment that went silent for longer than the proxy waits.</summary>
    public static Task GatewayTimeoutAsync(HttpContext http, string id, string reason) =>
        UpstreamFailedAsync(http, StatusCodes.Status504GatewayTimeout, "Gateway timeout", id, reason);

    private static Task UpstreamFailedAsync(HttpContext http, int status, string title, string id, string reason) => WriteAsync(http, status, title,
        $"Deployment <code>{WebUtility.HtmlEncode(id)}</code> did not answer. {WebUtility.HtmlEncode(reason.Length > 500 ? reason[..500] + "…" : reason)}");

    private static async Task WriteAsync(HttpContext http, int status, string title, string message)
    {
        var response = http.Response;
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.CacheControl = StaticFileResponder.NoCache;
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{status}: {title} · CloudDeck</title>
            <style>body{"{"}font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222{"}"}h1{"{"}font-size:1.5rem{"}"}code{"{"}background:#f2f2f2;padding:.1rem .3rem{"}"}</style>
            </head><body><h1>{status}: {title}</h1><p>{message}</p><p><small>CloudDeck edge</small></p></body></html>
            """;
        var bytes = Encoding.UTF8.GetBytes(html);
        response.ContentLength = bytes.Length;
        if (!HttpMethods.IsHead(http.Request.Method)) await response.Body.WriteAsync(bytes, http.RequestAborted);
    }
}
