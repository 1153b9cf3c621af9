using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Sso;

/// <summary>
/// Sign-in with OpenID Connect against a real provider (oidc-provider from npm): the account is created or linked by a
/// verified email only, a tampered state or ID token is refused, and an organization that requires its provider refuses
/// its members' password sign-in.
/// </summary>
public sealed class OidcSignInTests(OidcSignInTests.Stack stack) : IClassFixture<OidcSignInTests.Stack>
{
    private InProcessApi Api => stack.Value.Api;

    [Fact]
    public async Task Signing_in_through_the_provider_creates_a_verified_account_with_its_personal_organization()
    {
        await stack.Value.EnsureProviderAsync();
        var tokens = await SignInAsync("dana@example.com");

        var me = (await Api.GetAsync("/api/v1/me", tokens.Text("access_token"))).Expect(HttpStatusCode.OK);
        Assert.Equal("dana@example.com", me.Text("email"));
        Assert.True(me["email_verified"]!.GetValue<bool>());
        Assert.Single(me["organizations"]!.AsArray());
        // The account has no password: the provider is how it signs in.
        (await Api.PostAsync("/api/v1/auth/login", new { email = "dana@example.com", password = InProcessApi.Password })).Expect(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Signing_in_with_a_verified_email_links_the_existing_account_and_later_sign_ins_reach_it_again()
    {
        await stack.Value.EnsureProviderAsync();
        var erin = await Api.SignUpAndLoginAsync("erin@example.com");

        var first = await SignInAsync("erin@example.com");
        var second = await SignInAsync("erin@example.com");

        foreach (var tokens in new[] { first, second })
        {
            var me = (await Api.GetAsync("/api/v1/me", tokens.Text("access_token"))).Expect(HttpStatusCode.OK);
            Assert.Equal(erin.UserId, me.Text("user_id"));
            Assert.Equal(erin.PersonalOrganization, Assert.Single(me["organizations"]!.AsArray())!.Text("slug"));
        }

        // The provider verified the address she had not yet verified herself.
        Assert.True((await Api.GetAsync("/api/v1/me", first.Text("access_token"))).Expect(HttpStatusCode.OK)["email_verified"]!.GetValue<bool>());
    }

    [Fact]
    public async Task An_unverified_email_from_the_provider_neither_links_to_the_account_that_has_it_nor_creates_one()
    {
        await stack.Value.EnsureProviderAsync();
        var frank = await Api.SignUpAndLoginAsync("frank@example.com", verifyEmail: true);

        var outcome = await stack.Value.SignInAsync("corp", "unverified:frank@example.com");
        Assert.Null(outcome.Code);
        Assert.Equal("access_denied", outcome.Error);
        Assert.Contains("verified", outcome.ErrorDescription, StringComparison.Ordinal);

        // Nothing was linked: requiring the provider needs the owner to have signed in with it, and frank has not.
        var refused = await Api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{frank.PersonalOrganization}/sso", new { provider = "corp" }, frank.AccessToken);
        refused.Expect(HttpStatusCode.Conflict);
        // And no account was made for the unverified address either.
        var nobody = await stack.Value.SignInAsync("corp", "unverified:nobody@example.com");
        Assert.Equal("access_denied", nobody.Error);
        (await Api.PostAsync("/api/v1/auth/password-reset", new { email = "nobody@example.com" })).Expect(HttpStatusCode.Accepted);
        Assert.DoesNotContain(Api.Logs.Lines, line => line.Contains("nobody@example.com", StringComparison.Ordinal) && line.Contains("password-reset", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_tampered_state_or_one_from_another_browser_is_refused_and_signs_nobody_in()
    {
        await stack.Value.EnsureProviderAsync();
        var tampered = await stack.Value.SignInAsync("corp", "gail@example.com", callback => WithState(callback, state => Flip(state)));
        Assert.Equal(HttpStatusCode.BadRequest, tampered.Status);
        Assert.Contains("\"state\"", tampered.Body, StringComparison.Ordinal);
        Assert.Null(tampered.Code);

        // The real state, but the callback comes from a browser without the cookie the sign-in started with.
        var stolen = await stack.Value.SignInAsync("corp", "gail@example.com", callback =>
        {
            // Drop the cookie by moving the callback to another host name for the same server (localhost): its cookie jar is empty.
            return new UriBuilder(callback) { Host = "localhost" }.Uri;
        });
        Assert.Equal(HttpStatusCode.BadRequest, stolen.Status);
        Assert.Contains("another browser", stolen.Body, StringComparison.Ordinal);

        (await Api.PostAsync("/api/v1/auth/password-reset", new { email = "gail@example.com" })).Expect(HttpStatusCode.Accepted);
        Assert.Null(await Api.Grains.GetGrain<GrainInterfaces.Accounts.IEmailIndexGrain>("gail@example.com").FindUserId());
    }

    [Fact]
    public async Task An_ID_token_altered_after_the_provider_signed_it_is_refused()
    {
        await stack.Value.EnsureProviderAsync();
        var outcome = await stack.Value.SignInAsync("corp-tampered", "hank@example.com");

        Assert.Null(outcome.Code);
        Assert.Equal("access_denied", outcome.Error);
        Assert.Contains("signature", outcome.ErrorDescription, StringComparison.Ordinal);
        Assert.Null(await Api.Grains.GetGrain<GrainInterfaces.Accounts.IEmailIndexGrain>("hank@example.com").FindUserId());
        Assert.Null(await Api.Grains.GetGrain<GrainInterfaces.Accounts.IEmailIndexGrain>("mallory@example.com").FindUserId());
    }

    [Fact]
    public async Task An_organization_that_requires_its_provider_refuses_its_members_password_sign_in_with_403_and_ends_their_password_sessions()
    {
        await stack.Value.EnsureProviderAsync();
        var ivy = await Api.SignUpAndLoginAsync("ivy@example.com", verifyEmail: true);
        var viaProvider = await SignInAsync("ivy@example.com");

        var required = (await Api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{ivy.PersonalOrganization}/sso", new { provider = "corp" }, viaProvider.Text("access_token")))
            .Expect(HttpStatusCode.OK);
        Assert.Equal("corp", required.Text("required_provider"));

        // The session her password started before the requirement ends with it; the provider's goes on.
        var ended = await Api.PostAsync("/api/v1/auth/refresh", new { refresh_token = ivy.RefreshToken });
        ended.Expect(HttpStatusCode.Unauthorized);
        var renewed = (await Api.PostAsync("/api/v1/auth/refresh", new { refresh_token = viaProvider.Text("refresh_token") })).Expect(HttpStatusCode.OK);
        Assert.NotEqual(viaProvider.Text("refresh_token"), renewed.Text("refresh_token"));

        var refused = await Api.PostAsync("/api/v1/auth/login", new { email = ivy.Email, password = ivy.Password });
        refused.Expect(HttpStatusCode.Forbidden);
        Assert.Equal("application/problem+json", refused.MediaType);
        Assert.Equal("corp", refused.Json.Text("provider"));
        Assert.Equal(ivy.PersonalOrganization, refused.Json.Text("organization"));
        Assert.Contains("deck login --sso corp", refused.Json.Text("detail"), StringComparison.Ordinal);
        // A wrong password is still just a wrong password: the requirement is not told to guessers.
        (await Api.PostAsync("/api/v1/auth/login", new { email = ivy.Email, password = "not the password" })).Expect(HttpStatusCode.Unauthorized);

        // The provider still signs her in; lifting the requirement lets the password in again.
        var again = await SignInAsync("ivy@example.com");
        (await Api.SendAsync(HttpMethod.Delete, $"/api/v1/orgs/{ivy.PersonalOrganization}/sso", null, again.Text("access_token"))).Expect(HttpStatusCode.NoContent);
        (await Api.PostAsync("/api/v1/auth/login", new { email = ivy.Email, password = ivy.Password })).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_handoff_code_works_once_and_only_with_the_verifier_of_the_client_that_started()
    {
        await stack.Value.EnsureProviderAsync();
        var outcome = await stack.Value.SignInAsync("corp", "jo@example.com");
        Assert.NotNull(outcome.Code);

        (await Api.PostAsync("/api/v1/auth/sso/token", new { code = outcome.Code, code_verifier = new LoopbackClient().Verifier })).Expect(HttpStatusCode.Unauthorized);
        // The wrong verifier spent the code: whoever intercepted it gets one guess, and the right client must start again.
        (await Api.PostAsync("/api/v1/auth/sso/token", new { code = outcome.Code, code_verifier = outcome.Client.Verifier })).Expect(HttpStatusCode.Unauthorized);

        var fresh = await stack.Value.SignInAsync("corp", "jo@example.com");
        (await Api.PostAsync("/api/v1/auth/sso/token", new { code = fresh.Code, code_verifier = fresh.Client.Verifier })).Expect(HttpStatusCode.OK);
        (await Api.PostAsync("/api/v1/auth/sso/token", new { code = fresh.Code, code_verifier = fresh.Client.Verifier })).Expect(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_account_with_MFA_still_needs_its_code_after_signing_in_through_the_provider()
    {
        await stack.Value.EnsureProviderAsync();
        var kay = await Api.SignUpAndLoginAsync("kay@example.com", verifyEmail: true);
        var enrollment = (await Api.PostAsync("/api/v1/me/mfa/enroll", null, kay.AccessToken)).Expect(HttpStatusCode.OK);
        var secret = Grains.Accounts.Totp.Base32Decode(System.Web.HttpUtility.ParseQueryString(new Uri(enrollment.Text("otp_auth_uri")).Query)["secret"]!);
        (await Api.PostAsync("/api/v1/me/mfa/verify", new { code = Grains.Accounts.Totp.Compute(secret, Grains.Accounts.Totp.TimeStep(Api.Clock.GetUtcNow())) }, kay.AccessToken))
            .Expect(HttpStatusCode.OK);
        Api.Clock.Advance(Grains.Accounts.Totp.Step);

        var outcome = await stack.Value.SignInAsync("corp", "kay@example.com");
        var answer = (await Api.PostAsync("/api/v1/auth/sso/token", new { code = outcome.Code, code_verifier = outcome.Client.Verifier })).Expect(HttpStatusCode.OK);

        Assert.True(answer["mfa_required"]!.GetValue<bool>());
        Assert.Null(answer["access_token"]);
        var code = Grains.Accounts.Totp.Compute(secret, Grains.Accounts.Totp.TimeStep(Api.Clock.GetUtcNow()));
        var tokens = (await Api.PostAsync("/api/v1/auth/login/mfa", new { challenge = answer.Text("challenge"), code })).Expect(HttpStatusCode.OK);
        Assert.Equal(kay.UserId, (await Api.GetAsync("/api/v1/me", tokens.Text("access_token"))).Expect(HttpStatusCode.OK).Text("user_id"));
    }

    private async Task<JsonNode> SignInAsync(string login)
    {
        var outcome = await stack.Value.SignInAsync("corp", login);
        Assert.True(outcome.Code is not null, $"no code: {outcome.Error} {outcome.ErrorDescription} {outcome.Status} {outcome.Body}");
        return (await Api.PostAsync("/api/v1/auth/sso/token", new { code = outcome.Code, code_verifier = outcome.Client.Verifier })).Expect(HttpStatusCode.OK);
    }

    private static Uri WithState(Uri callback, Func<string, string> change)
    {
        var query = System.Web.HttpUtility.ParseQueryString(callback.Query);
        query["state"] = change(query["state"]!);
        return new UriBuilder(callback) { Query = query.ToString() }.Uri;
    }

    private static string Flip(string state) => (state[0] == 'a' ? 'b' : 'a') + state[1..];

    /// <summary>One API and one provider for the class: each test uses its own addresses.</summary>
    public sealed class Stack : IAsyncLifetime
    {
        public OidcStack Value { get; private set; } = null!;

        public ValueTask InitializeAsync()
        {
            Value = new OidcStack();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => Value.DisposeAsync();
    }
}
