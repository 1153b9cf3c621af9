using CloudDeck.GrainInterfaces.Domains;

namespace CloudDeck.Api.Edge;

/// <summary>
/// What the edge does for a verified custom domain before serving it: answers ACME HTTP-01 challenges (over plain HTTP,
/// never redirected), redirects to the www or apex twin when the domain says so, redirects HTTP to HTTPS once this edge
/// holds the domain's certificate (never before, so nobody is sent to a handshake that would fail), and adds HSTS over
/// HTTPS when the domain asks for it. The domain serves whatever its project's production host serves.
/// </summary>
public sealed class CustomDomains(DomainTable table, EdgeHttpsOptions https, IGrainFactory grains)
{
    public const string ChallengePath = "/.well-known/acme-challenge/";

    private readonly string _hsts = $"max-age={(long)https.HstsMaxAge.TotalSeconds}";

    public DomainRoute? Find(string host) => table.Find(host);

    /// <returns>The host whose alias serves the request, or null when it was answered here.</returns>
    public async Task<string?> RouteAsync(HttpContext http, string host, DomainRoute route)
    {
        var request = http.Request;
        var path = request.Path.Value ?? "/";
        if (path.StartsWith(ChallengePath, StringComparison.Ordinal) && !request.IsHttps)
        {
            var answer = await grains.GetGrain<IDomainGrain>(host).GetChallengeAnswer(path[ChallengePath.Length..]);
            http.Response.StatusCode = answer is null ? StatusCodes.Status404NotFound : StatusCodes.Status200OK;
            http.Response.ContentType = "text/plain";
            if (answer is not null) await http.Response.WriteAsync(answer, http.RequestAborted);
            return null;
        }

        var secure = https.Enabled && table.HasCertificate(host);
        if (DomainNames.RedirectTarget(host, route.Redirect) is { } twin)
        {
            // The twin is another domain of the project; it gets HTTPS if it has a certificate of its own.
            var twinSecure = https.Enabled && table.HasCertificate(twin);
            Redirect(http, twinSecure ? $"https://{twin}{https.PortSuffix}" : $"http://{twin}{PlainPort(request)}");
            return null;
        }

        if (!request.IsHttps && secure)
        {
            Redirect(http, $"https://{host}{https.PortSuffix}");
            return null;
        }

        if (request.IsHttps && route.Hsts) http.Response.Headers.StrictTransportSecurity = _hsts;
        return route.ProductionHost;
    }

    private static string PlainPort(HttpRequest request) => request.Host.Port is { } port && port != 80 && !request.IsHttps ? ":" + port : "";

    private static void Redirect(HttpContext http, string origin)
    {
        http.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
        http.Response.Headers.Location = origin + http.Request.Path.Value + http.Request.QueryString.Value;
    }
}
