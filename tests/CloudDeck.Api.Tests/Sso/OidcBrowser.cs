using System.Net;
using System.Text.RegularExpressions;

namespace CloudDeck.Api.Tests.Sso;

/// <summary>
/// A browser for the sign-in tests: cookies of every server it visits, redirects followed by hand (so a test can stop or
/// alter them), and oidc-provider's development login and consent forms posted. Also linked into CloudDeck.Cli.Tests.
/// </summary>
internal sealed partial class OidcBrowser : IDisposable
{
    private readonly HttpClient _http;

    public OidcBrowser(CookieContainer? cookies = null) =>
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = cookies ?? new CookieContainer(), UseCookies = true })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>Where the browser stopped: a redirect it was told to stop at, or an answer that was neither a redirect nor a form.</summary>
    public sealed record Stop(Uri Address, HttpStatusCode Status, string Body, bool Redirected);

    /// <param name="login">What to type into the provider's login form.</param>
    /// <param name="stopAt">A redirect to an address it accepts is not followed.</param>
    /// <param name="alter">Changes an address before the browser goes there (a tampered state, say).</param>
    public async Task<Stop> VisitAsync(Uri start, string login, Func<Uri, bool> stopAt, Func<Uri, Uri>? alter, CancellationToken cancellationToken)
    {
        var next = start;
        HttpContent? form = null;
        for (var step = 0; step < 20; step++)
        {
            if (alter is not null) next = alter(next);
            using var request = new HttpRequestMessage(form is null ? HttpMethod.Get : HttpMethod.Post, next) { Content = form };
            using var response = await _http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            form = null;
            if (response.Headers.Location is { } location)
            {
                next = location.IsAbsoluteUri ? location : new Uri(next, location);
                if (stopAt(next)) return new Stop(next, response.StatusCode, body, Redirected: true);
                continue;
            }

            if (response.StatusCode == HttpStatusCode.OK && FormPattern().Match(body) is { Success: true } match)
            {
                // oidc-provider's development login form (any login, any password) or its consent form.
                var fields = HiddenPattern().Matches(body).ToDictionary(m => m.Groups["name"].Value, m => WebUtility.HtmlDecode(m.Groups["value"].Value));
                if (body.Contains("name=\"login\"", StringComparison.Ordinal))
                {
                    fields["login"] = login;
                    fields["password"] = "any password";
                }

                form = new FormUrlEncodedContent(fields);
                next = new Uri(next, WebUtility.HtmlDecode(match.Groups["action"].Value));
                continue;
            }

            return new Stop(next, response.StatusCode, body, Redirected: false);
        }

        throw new InvalidOperationException($"The browser was still being redirected after 20 steps (at {next}).");
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("<form[^>]*action=\"(?<action>[^\"]+)\"[^>]*method=\"post\"", RegexOptions.IgnoreCase)]
    private static partial Regex FormPattern();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex HiddenPattern();
}
