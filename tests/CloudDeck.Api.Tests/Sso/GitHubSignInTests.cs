using System.Net;
using System.Web;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Sso;

/// <summary>
/// The github-oauth2 provider kind against <see cref="FakeGitHub"/> (GitHub cannot be reached from here): the numeric id is
/// the subject, and the primary address counts only when GitHub verified it.
/// </summary>
public sealed class GitHubSignInTests : IAsyncDisposable
{
    private readonly FakeGitHub _github = new(ChildProcess.FreeTcpPort());
    private readonly InProcessApi _api;
    private readonly Uri _baseAddress;

    public GitHubSignInTests()
    {
        var apiPort = ChildProcess.FreeTcpPort();
        _baseAddress = new Uri($"http://127.0.0.1:{apiPort}/");
        var settings = _github.Settings();
        settings["urls"] = _baseAddress.AbsoluteUri.TrimEnd('/');
        settings["CloudDeck:Auth:LinkBaseUrl"] = _baseAddress.AbsoluteUri.TrimEnd('/');
        _api = new InProcessApi(settings: settings);
        _api.UseKestrel(apiPort);
        _api.StartServer();
        _api.BaseAddress = _baseAddress;
    }

    [Fact]
    public async Task Fake_GitHub_sign_in_with_a_verified_primary_email_creates_the_account_and_finds_it_again_by_numeric_id()
    {
        await _github.StartAsync();
        _github.NextUser = new GitHubUser(4242, "octo", "octo@example.com", Verified: true);
        var first = await SignInAsync();
        Assert.True(first.Code is not null, first.ToString());
        var tokens = (await _api.PostAsync("/api/v1/auth/sso/token", new { code = first.Code, code_verifier = first.Client.Verifier })).Expect(HttpStatusCode.OK);
        var me = (await _api.GetAsync("/api/v1/me", tokens.Text("access_token"))).Expect(HttpStatusCode.OK);
        Assert.Equal("octo@example.com", me.Text("email"));
        Assert.Equal("octo", me.Text("name"));

        // The same GitHub account after its primary address changed (and is not verified yet): linked by id, not by email.
        _github.NextUser = new GitHubUser(4242, "octo-renamed", "new-octo@example.com", Verified: false);
        var again = await SignInAsync();
        var tokensAgain = (await _api.PostAsync("/api/v1/auth/sso/token", new { code = again.Code, code_verifier = again.Client.Verifier })).Expect(HttpStatusCode.OK);
        Assert.Equal(me.Text("user_id"), (await _api.GetAsync("/api/v1/me", tokensAgain.Text("access_token"))).Expect(HttpStatusCode.OK).Text("user_id"));
    }

    [Fact]
    public async Task Fake_GitHub_sign_in_whose_primary_email_GitHub_has_not_verified_does_not_link_the_account_that_has_it()
    {
        await _github.StartAsync();
        var owner = await _api.SignUpAndLoginAsync("mona@example.com", verifyEmail: true);
        _github.NextUser = new GitHubUser(777, "not-mona", "mona@example.com", Verified: false);

        var outcome = await SignInAsync();

        Assert.Null(outcome.Code);
        Assert.Equal("access_denied", outcome.Error);
        Assert.Contains("verified", outcome.ErrorDescription, StringComparison.Ordinal);
        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{owner.PersonalOrganization}/sso", new { provider = "github" }, owner.AccessToken)).Expect(HttpStatusCode.Conflict);
    }

    private async Task<SignInOutcome> SignInAsync()
    {
        var client = new LoopbackClient();
        using var browser = new OidcBrowser();
        var start = new Uri(_baseAddress, $"api/v1/auth/sso/github/start?redirect_uri={Uri.EscapeDataString(client.RedirectUri)}&code_challenge={client.Challenge}");
        var stop = await browser.VisitAsync(start, "", next => next.AbsoluteUri.StartsWith(client.RedirectUri, StringComparison.Ordinal), null, TestContext.Current.CancellationToken);
        var query = HttpUtility.ParseQueryString(stop.Address.Query);
        return stop.Redirected
            ? new SignInOutcome(client, query["code"], query["error"], query["error_description"], null, stop.Body)
            : new SignInOutcome(client, null, null, null, stop.Status, stop.Body);
    }

    public async ValueTask DisposeAsync()
    {
        await _github.DisposeAsync();
        await _api.DisposeAsync();
    }
}
