using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Cli.Tests;

/// <summary>deck login / whoami / logout against the real API process: the account routes exist today.</summary>
public sealed class LoginTests : DeckProcessTest
{
    [Fact]
    public async Task Login_with_email_and_password_stores_an_owner_only_session_and_whoami_shows_the_account()
    {
        var api = await StartApiAsync();
        var user = await SignUpAsync(api, "ada@example.com");
        var url = api.BaseAddress.ToString();

        var login = (await Deck(["login", "--api", url, "--email", user.Email, "--password-stdin"], Work, stdin: Password + "\n")).Expect(0);
        var whoami = (await Deck("whoami", "--api", url)).Expect(0);

        Assert.Equal($"logged in to {url} as ada@example.com", Assert.Single(login.Stdout));
        Assert.Equal("ada@example.com (ada)", whoami.Stdout[0]);
        Assert.Contains($"{user.Organization} (owner)", whoami.Output, StringComparison.Ordinal);
        var auth = Path.Combine(ConfigDirectory, "auth.json");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(auth));
        var stored = JsonNode.Parse(await File.ReadAllTextAsync(auth, Cancellation))!["servers"]![url]!;
        Assert.StartsWith("ey", stored["access_token"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(stored["refresh_token"]);
        foreach (var run in new[] { login, whoami })
        {
            Assert.DoesNotContain(Password, run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(stored["access_token"]!.GetValue<string>(), run.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_wrong_password_exits_1_with_one_problem_line_and_stores_nothing()
    {
        var api = await StartApiAsync();
        await SignUpAsync(api, "bob@example.com");

        var run = await Deck(["login", "--api", api.BaseAddress.ToString(), "--email", "bob@example.com"], Work,
            new Dictionary<string, string?> { ["CLOUDDECK_PASSWORD"] = "not the password at all" });

        run.Expect(1);
        Assert.Equal("error: Login failed (401): The email, password or code is wrong.", Assert.Single(run.Stderr));
        Assert.False(File.Exists(Path.Combine(ConfigDirectory, "auth.json")));
    }

    [Fact]
    public async Task Login_with_a_token_checks_it_against_the_API_and_whoami_then_uses_it()
    {
        var api = await StartApiAsync();
        var user = await SignUpAsync(api, "cy@example.com");
        var url = api.BaseAddress.ToString();

        (await Deck("login", "--api", url, "--token", "not-a-token")).Expect(1);
        Assert.False(File.Exists(Path.Combine(ConfigDirectory, "auth.json")));
        var login = (await Deck("login", "--api", url, "--token", user.AccessToken)).Expect(0);
        var whoami = (await Deck("whoami", "--api", url)).Expect(0);

        Assert.Equal($"logged in to {url} as cy@example.com", Assert.Single(login.Stdout));
        Assert.StartsWith("cy@example.com", whoami.Stdout[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task CLOUDDECK_TOKEN_and_CLOUDDECK_API_stand_in_for_a_login_and_logout_forgets_the_stored_one()
    {
        var api = await StartApiAsync();
        var user = await SignUpAsync(api, "dee@example.com");
        var environment = new Dictionary<string, string?> { ["CLOUDDECK_API"] = api.BaseAddress.ToString(), ["CLOUDDECK_TOKEN"] = user.AccessToken };

        var whoami = (await Deck(["whoami"], Work, environment)).Expect(0);
        (await Deck("login", "--api", api.BaseAddress.ToString(), "--token", user.AccessToken)).Expect(0);
        var logout = (await Deck("logout", "--api", api.BaseAddress.ToString())).Expect(0);
        var after = (await Deck("whoami", "--api", api.BaseAddress.ToString())).Expect(1);

        Assert.StartsWith("dee@example.com", whoami.Stdout[0], StringComparison.Ordinal);
        Assert.Equal($"logged out of {api.BaseAddress}", Assert.Single(logout.Stdout));
        Assert.Contains("run deck login", Assert.Single(after.Stderr), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_account_with_two_factor_login_needs_the_code_and_logs_in_with_it()
    {
        var api = await StartApiAsync();
        var user = await SignUpAsync(api, "mfa@example.com");
        var secret = await EnableMfaAsync(api, user);
        var url = api.BaseAddress.ToString();

        var without = await Deck(["login", "--api", url, "--email", user.Email, "--password-stdin"], Work, stdin: Password + "\n");
        // A step after the one that confirmed enrollment: the API refuses a code's step once it was used.
        var code = Totp.Compute(secret, Totp.TimeStep(DateTimeOffset.UtcNow) + 1);
        var with = await Deck(["login", "--api", url, "--email", user.Email, "--password-stdin", "--code", code], Work, stdin: Password + "\n");

        without.Expect(2);
        Assert.Contains("--code", Assert.Single(without.Stderr), StringComparison.Ordinal);
        with.Expect(0);
        Assert.DoesNotContain(code, with.Output, StringComparison.Ordinal);
        Assert.StartsWith("mfa@example.com", (await Deck("whoami", "--api", url)).Expect(0).Stdout[0], StringComparison.Ordinal);
    }

    /// <returns>The authenticator's secret.</returns>
    private static async Task<byte[]> EnableMfaAsync(CloudDeck.Api.Tests.ApiHost api, DeckUser user)
    {
        async Task<JsonNode> PostAsync(string path, object body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
            using var response = await api.Http.SendAsync(request, Cancellation);
            return await ExpectAsync(response, HttpStatusCode.OK);
        }

        var uri = new Uri((await PostAsync("api/v1/me/mfa/enroll", new { }))["otp_auth_uri"]!.GetValue<string>());
        var secret = Totp.Base32Decode(System.Web.HttpUtility.ParseQueryString(uri.Query)["secret"]!);
        await PostAsync("api/v1/me/mfa/verify", new { code = Totp.Compute(secret, Totp.TimeStep(DateTimeOffset.UtcNow)) });
        return secret;
    }
}
