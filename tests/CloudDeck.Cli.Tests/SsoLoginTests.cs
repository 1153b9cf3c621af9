using CloudDeck.Api.Tests;
using CloudDeck.Api.Tests.Sso;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// <c>deck login --sso</c> against the real API process and a real OpenID Provider (npm's oidc-provider): deck listens on a
/// loopback port, the browser goes through the provider's forms and back to deck, and deck stores the session.
/// </summary>
public sealed class SsoLoginTests : DeckProcessTest
{
    [Fact]
    public async Task Deck_login_sso_signs_in_through_the_provider_over_its_loopback_listener_and_whoami_shows_the_account()
    {
        Need.Component(OidcProviderServer.MissingReason);
        var (api, url) = await StartApiWithProviderAsync();

        var deck = StartDeck("login", "--api", url, "--sso", "corp", "--no-browser");
        var printed = await deck.WaitForOutputAsync(output => output.Contains("/api/v1/auth/sso/corp/start", StringComparison.Ordinal), TimeSpan.FromSeconds(60), Cancellation);
        var start = printed.Split('\n').Select(line => line.Trim()).First(line => line.Contains("/api/v1/auth/sso/corp/start", StringComparison.Ordinal));

        using var browser = new OidcBrowser();
        var page = await browser.VisitAsync(new Uri(start), "kim@example.com", _ => false, null, Cancellation);

        Assert.Contains("go back to the terminal", page.Body, StringComparison.Ordinal);
        Assert.True(await deck.WaitForExitAsync(TimeSpan.FromSeconds(60), Cancellation), deck.Output);
        Assert.True(deck.ExitCode == 0, deck.Output);
        Assert.Contains($"logged in to {url} as kim@example.com", deck.Output, StringComparison.Ordinal);
        var whoami = (await Deck("whoami", "--api", url)).Expect(0);
        Assert.StartsWith("kim@example.com", whoami.Stdout[0], StringComparison.Ordinal);
        GC.KeepAlive(api);
    }

    [Fact]
    public async Task Deck_login_sso_prints_the_providers_refusal_and_exits_1_when_the_email_is_unverified()
    {
        Need.Component(OidcProviderServer.MissingReason);
        var (_, url) = await StartApiWithProviderAsync();

        var deck = StartDeck("login", "--api", url, "--sso", "corp", "--no-browser");
        var printed = await deck.WaitForOutputAsync(output => output.Contains("/api/v1/auth/sso/corp/start", StringComparison.Ordinal), TimeSpan.FromSeconds(60), Cancellation);
        var start = printed.Split('\n').Select(line => line.Trim()).First(line => line.Contains("/api/v1/auth/sso/corp/start", StringComparison.Ordinal));
        using var browser = new OidcBrowser();
        await browser.VisitAsync(new Uri(start), "unverified:lee@example.com", _ => false, null, Cancellation);

        Assert.True(await deck.WaitForExitAsync(TimeSpan.FromSeconds(60), Cancellation), deck.Output);
        Assert.Equal(1, deck.ExitCode);
        Assert.Contains("did not say this account's email address is verified", deck.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(ConfigDirectory, "auth.json")));
    }

    /// <summary>The API process on a port chosen first, so its own address (the provider's redirect URI) is in its settings.</summary>
    private async Task<(ChildProcess Api, string Url)> StartApiWithProviderAsync()
    {
        var apiPort = ChildProcess.FreeTcpPort();
        var providerPort = ChildProcess.FreeTcpPort();
        var url = $"http://127.0.0.1:{apiPort}/";
        var api = Track(ApiHost.Launch(apiPort, DataDirectory, OidcProviderServer.Settings($"http://127.0.0.1:{providerPort}", url, "__")));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        await HealthWait.UntilHealthyAsync(http, api);
        Track(await OidcProviderServer.StartAsync(providerPort, url, Cancellation));
        return (api, url);
    }

    private ChildProcess StartDeck(params string[] args)
    {
        var dll = RepoPaths.ProjectOutput("cli", "deck");
        var deck = Track(ChildProcess.Start(ApiHost.DotnetHost, [dll, .. args], new Dictionary<string, string?>
        {
            ["CLOUDDECK_API"] = null,
            ["CLOUDDECK_TOKEN"] = null,
            ["CLOUDDECK_CONFIG_DIR"] = ConfigDirectory,
        }, Work));
        deck.StandardInput.Close();
        return deck;
    }
}
