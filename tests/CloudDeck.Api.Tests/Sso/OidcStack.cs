using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Web;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Sso;

/// <summary>
/// The real API on Kestrel and a real OpenID Provider (<see cref="OidcProviderServer"/>: npm's oidc-provider) on loopback
/// ports, the API configured for its two clients, <c>corp</c> and <c>corp-tampered</c>. <see cref="SignInAsync"/> plays
/// the browser and <c>deck login --sso</c>'s loopback listener.
/// </summary>
public sealed class OidcStack : IAsyncDisposable
{
    private readonly int _providerPort = ChildProcess.FreeTcpPort();
    private OidcProviderServer? _provider;

    public OidcStack()
    {
        var apiPort = ChildProcess.FreeTcpPort();
        BaseAddress = new Uri($"http://127.0.0.1:{apiPort}/");
        var settings = OidcProviderServer.Settings($"http://127.0.0.1:{_providerPort}", BaseAddress.AbsoluteUri);
        settings["urls"] = BaseAddress.AbsoluteUri.TrimEnd('/');
        Api = new InProcessApi(settings: settings);
        Api.UseKestrel(apiPort);
        Api.StartServer();
        Api.BaseAddress = BaseAddress;
    }

    public InProcessApi Api { get; }

    public Uri BaseAddress { get; }

    /// <summary>Starts the provider (once); skips or fails (CI=true) the test when node and npm are missing.</summary>
    public async Task EnsureProviderAsync()
    {
        Need.Component(OidcProviderServer.MissingReason);
        _provider ??= await OidcProviderServer.StartAsync(_providerPort, BaseAddress.AbsoluteUri, TestContext.Current.CancellationToken);
    }

    /// <summary>A sign-in as a loopback client would start it, stopped at the redirect to that client (nothing listens there: the test reads it).</summary>
    public async Task<SignInOutcome> SignInAsync(string provider, string login, Func<Uri, Uri>? alterCallback = null)
    {
        var client = new LoopbackClient();
        using var browser = new OidcBrowser();
        var start = new Uri(BaseAddress, $"api/v1/auth/sso/{provider}/start?redirect_uri={Uri.EscapeDataString(client.RedirectUri)}&code_challenge={client.Challenge}&code_challenge_method=S256");
        var stop = await browser.VisitAsync(start, login, next => next.AbsoluteUri.StartsWith(client.RedirectUri, StringComparison.Ordinal),
            next => alterCallback is not null && next.Port == BaseAddress.Port && next.AbsolutePath.EndsWith("/callback", StringComparison.Ordinal) ? alterCallback(next) : next,
            TestContext.Current.CancellationToken);
        if (!stop.Redirected) return new SignInOutcome(client, null, null, null, stop.Status, stop.Body);
        var query = HttpUtility.ParseQueryString(stop.Address.Query);
        return new SignInOutcome(client, query["code"], query["error"], query["error_description"], null, stop.Body);
    }

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
