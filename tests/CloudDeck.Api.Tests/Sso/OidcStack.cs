using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Web;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Sso;

/// <summary>
/// The real API on Kestrel and a real OpenID Provider (npm's oidc-provider, tests/js/oidc-provider.mjs) on loopback ports,
/// with the API configured for two providers: <c>corp</c>, and <c>corp-tampered</c>, whose ID tokens the provider script
/// alters after signing. <see cref="SignInAsync"/> plays the browser and <c>deck login --sso</c>'s loopback listener.
/// </summary>
public sealed partial class OidcStack : IAsyncDisposable
{
    private readonly int _providerPort = ChildProcess.FreeTcpPort();
    private ChildProcess? _provider;

    public OidcStack()
    {
        var apiPort = ChildProcess.FreeTcpPort();
        BaseAddress = new Uri($"http://127.0.0.1:{apiPort}/");
        Issuer = $"http://127.0.0.1:{_providerPort}";
        Api = new InProcessApi(settings: new Dictionary<string, string?>
        {
            ["urls"] = BaseAddress.AbsoluteUri.TrimEnd('/'),
            ["CloudDeck:Auth:LinkBaseUrl"] = BaseAddress.AbsoluteUri.TrimEnd('/'),
            ["CloudDeck:Auth:Oidc:Providers:corp:Issuer"] = Issuer,
            ["CloudDeck:Auth:Oidc:Providers:corp:ClientId"] = "clouddeck",
            ["CloudDeck:Auth:Oidc:Providers:corp:ClientSecret"] = "corp-client-secret",
            ["CloudDeck:Auth:Oidc:Providers:corp:DisplayName"] = "Corp SSO",
            ["CloudDeck:Auth:Oidc:Providers:corp-tampered:Issuer"] = Issuer,
            ["CloudDeck:Auth:Oidc:Providers:corp-tampered:ClientId"] = "clouddeck-tampered",
            ["CloudDeck:Auth:Oidc:Providers:corp-tampered:ClientSecret"] = "tampered-client-secret",
        });
        Api.UseKestrel(apiPort);
        Api.StartServer();
        Api.BaseAddress = BaseAddress;
    }

    public InProcessApi Api { get; }

    public Uri BaseAddress { get; }

    public string Issuer { get; }

    /// <summary>Starts the provider (once); skips or fails (CI=true) the test when node and npm are missing.</summary>
    public async Task EnsureProviderAsync()
    {
        Need.Component(NodeHarness.MissingReason);
        if (_provider is not null) return;
        await NodeHarness.EnsureInstalledAsync(TestContext.Current.CancellationToken);
        _provider = ChildProcess.Start(NodeHarness.Node!, ["oidc-provider.mjs", _providerPort.ToString(System.Globalization.CultureInfo.InvariantCulture), BaseAddress.AbsoluteUri],
            workingDirectory: NodeHarness.ScriptsDirectory);
        await _provider.WaitForOutputAsync(output => output.Contains("READY", StringComparison.Ordinal), TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// A browser session: cookies of both servers, redirects followed by hand, the provider's login and consent forms
    /// posted. Stops at the first redirect to the client's loopback URI (nothing listens there: the test reads it).
    /// </summary>
    public async Task<SignInOutcome> SignInAsync(string provider, string login, Func<Uri, Uri>? alterCallback = null, CookieContainer? cookies = null)
    {
        var client = new LoopbackClient();
        cookies ??= new CookieContainer();
        using var browser = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = cookies, UseCookies = true })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        var next = new Uri(BaseAddress, $"api/v1/auth/sso/{provider}/start?redirect_uri={Uri.EscapeDataString(client.RedirectUri)}&code_challenge={client.Challenge}&code_challenge_method=S256");
        HttpContent? form = null;
        for (var step = 0; step < 20; step++)
        {
            if (alterCallback is not null && next.AbsolutePath.EndsWith("/callback", StringComparison.Ordinal) && next.Port == BaseAddress.Port) next = alterCallback(next);
            using var request = new HttpRequestMessage(form is null ? HttpMethod.Get : HttpMethod.Post, next) { Content = form };
            using var response = await browser.SendAsync(request, TestContext.Current.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            form = null;
            if (response.Headers.Location is { } location)
            {
                next = location.IsAbsoluteUri ? location : new Uri(next, location);
                if (next.AbsoluteUri.StartsWith(client.RedirectUri, StringComparison.Ordinal))
                {
                    var query = HttpUtility.ParseQueryString(next.Query);
                    return new SignInOutcome(client, query["code"], query["error"], query["error_description"], null, body);
                }

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

            return new SignInOutcome(client, null, null, null, response.StatusCode, body);
        }

        throw new InvalidOperationException("The sign-in did not reach the client's loopback URI within 20 steps.");
    }

    [GeneratedRegex("<form[^>]*action=\"(?<action>[^\"]+)\"[^>]*method=\"post\"", RegexOptions.IgnoreCase)]
    private static partial Regex FormPattern();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex HiddenPattern();

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null) await _provider.DisposeAsync();
        await Api.DisposeAsync();
    }
}

/// <summary>What <c>deck login --sso</c> would hold: a loopback redirect URI and a PKCE verifier for the handoff code.</summary>
public sealed class LoopbackClient
{
    public LoopbackClient()
    {
        RedirectUri = $"http://127.0.0.1:{ChildProcess.FreeTcpPort()}/callback";
        Verifier = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Challenge = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(Verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public string RedirectUri { get; }

    public string Verifier { get; }

    public string Challenge { get; }
}

/// <param name="Code">The handoff code the API sent the browser to the loopback URI with.</param>
/// <param name="Error">Or the error it sent instead.</param>
/// <param name="Status">Set when the browser stopped at an answer of the API or provider instead of the loopback URI.</param>
public sealed record SignInOutcome(LoopbackClient Client, string? Code, string? Error, string? ErrorDescription, HttpStatusCode? Status, string Body);
