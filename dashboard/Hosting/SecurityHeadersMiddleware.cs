using Microsoft.AspNetCore.Http;

namespace CloudDeck.Dashboard.Hosting;

/// <summary>
/// A strict Content-Security-Policy on every dashboard answer: scripts, styles and connections from this origin only
/// (no inline script, no eval), no framing, forms post only here. Also no referrer, so the one-time tokens of the email
/// links (/verify-email?token=…) never leave in a Referer header.
/// </summary>
internal sealed class SecurityHeadersMiddleware : IMiddleware
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<DashboardEndpointMetadata>() is not null)
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
        }

        return next(context);
    }
}
