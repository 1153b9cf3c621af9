using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.Api.Http;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>
/// Account flows over HTTP: throttling answers 429 with Retry-After; bad input is 400 naming the field; and no log
/// line or response body carries a password or secret (beyond the one answer that shows a secret once).
/// </summary>
public sealed class AccountFlowTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new();

    [Fact]
    public async Task Failed_logins_from_one_address_wait_a_minute_then_twice_as_long_after_each_further_failure()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        for (var i = 0; i < 5; i++)
        {
            (await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = "not the password" })).Expect(HttpStatusCode.Unauthorized);
        }

        // The fifth failure starts the first wait (CloudDeck:Auth:LoginBackoff); even the right password waits it out.
        var throttled = await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = ada.Password });
        throttled.Expect(HttpStatusCode.TooManyRequests);
        Assert.Equal(TimeSpan.FromMinutes(1), throttled.RetryAfter);
        Assert.Equal("application/problem+json", throttled.MediaType);

        // Each failure after a wait doubles the next one.
        _api.Clock.Advance(TimeSpan.FromMinutes(1));
        (await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = "not the password" })).Expect(HttpStatusCode.Unauthorized);
        Assert.Equal(TimeSpan.FromMinutes(2), (await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = ada.Password })).RetryAfter);
        _api.Clock.Advance(TimeSpan.FromMinutes(2));
        (await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = "not the password" })).Expect(HttpStatusCode.Unauthorized);
        Assert.Equal(TimeSpan.FromMinutes(4), (await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = ada.Password })).RetryAfter);

        _api.Clock.Advance(TimeSpan.FromMinutes(4));
        (await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = ada.Password })).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Wrong_MFA_codes_between_right_passwords_hit_429_within_the_accounts_five_failures()
    {
        var cy = await _api.SignUpAndLoginAsync("cy@example.com");
        var secret = await EnableMfaAsync(cy);
        var step = Totp.TimeStep(_api.Clock.GetUtcNow());
        var right = Totp.Compute(secret, step);
        // Not a code of any step that counts now: a fixed guess could be right by chance.
        var near = new[] { step - 1, step, step + 1 }.Select(s => Totp.Compute(secret, s)).ToHashSet();
        var wrong = new[] { "000000", "111111", "222222", "333333" }.First(code => !near.Contains(code));

        var wrongCodes = 0;
        Answer? refused = null;
        for (var attempt = 0; attempt < 10 && refused is null; attempt++)
        {
            var login = await _api.PostAsync("/api/v1/auth/login", new { email = cy.Email, password = cy.Password });
            if (login.Status == HttpStatusCode.TooManyRequests)
            {
                refused = login;
                break;
            }

            var challenge = login.Expect(HttpStatusCode.OK).Text("challenge");
            var second = await _api.PostAsync("/api/v1/auth/login/mfa", new { challenge, code = wrong });
            if (second.Status == HttpStatusCode.TooManyRequests) refused = second;
            else second.Expect(HttpStatusCode.Unauthorized);
            if (second.Status == HttpStatusCode.Unauthorized) wrongCodes++;
        }

        Assert.True(refused is not null, $"{wrongCodes} wrong codes were checked without a 429.");
        Assert.Equal(5, wrongCodes);
        Assert.Equal(TimeSpan.FromMinutes(15), refused.RetryAfter);

        // The signed-in session cannot go on guessing through MFA disabling either: same account, same wait.
        var disable = await _api.PostAsync("/api/v1/me/mfa/disable", new { code = right }, cy.AccessToken);
        disable.Expect(HttpStatusCode.TooManyRequests);
        Assert.Equal(TimeSpan.FromMinutes(15), disable.RetryAfter);
        Assert.Equal("application/problem+json", disable.MediaType);
    }

    [Fact]
    public async Task Unknown_emails_get_the_same_429_as_accounts_so_it_does_not_tell_who_is_registered()
    {
        await _api.SignUpAndLoginAsync("ada@example.com");
        var sixth = new Dictionary<string, Answer>();
        foreach (var email in new[] { "ada@example.com", "nobody@example.com" })
        {
            for (var i = 0; i < 5; i++)
            {
                (await _api.PostAsync("/api/v1/auth/login", new { email, password = "not the password" })).Expect(HttpStatusCode.Unauthorized);
            }

            sixth[email] = await _api.PostAsync("/api/v1/auth/login", new { email, password = "not the password" });
        }

        sixth["ada@example.com"].Expect(HttpStatusCode.TooManyRequests);
        sixth["nobody@example.com"].Expect(HttpStatusCode.TooManyRequests);
        Assert.Equal(sixth["ada@example.com"].RetryAfter, sixth["nobody@example.com"].RetryAfter);
        Assert.Equal(sixth["ada@example.com"].Json.Text("detail"), sixth["nobody@example.com"].Json.Text("detail"));
    }

    [Fact]
    public async Task Names_with_control_characters_get_400_naming_the_field_and_change_nothing()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var refused = new[]
        {
            await _api.PostAsync("/api/v1/auth/signup", new { email = "eve@example.com", password = InProcessApi.Password, name = "Eve\r\nBcc: everyone@example.com" }),
            await _api.PostAsync("/api/v1/orgs", new { slug = "evil", name = "Evil\nCorp" }, ada.AccessToken),
            await _api.SendAsync(HttpMethod.Patch, $"/api/v1/orgs/{ada.PersonalOrganization}", new { name = "Ada\u0007" }, ada.AccessToken),
        };
        foreach (var answer in refused)
        {
            var problem = answer.Expect(HttpStatusCode.BadRequest);
            Assert.True(problem["errors"]?["name"] is JsonArray, $"{answer.Request}: the problem should name 'name': {answer.Body}");
            Assert.Contains("control characters", problem.Text("detail"), StringComparison.Ordinal);
        }

        // Nothing was made: the address signs up (and gets a verification email, not a sign-up attempt notice), the slug
        // is free, the name is unchanged.
        (await _api.PostAsync("/api/v1/auth/signup", new { email = "eve@example.com", password = InProcessApi.Password, name = "Eve" })).Expect(HttpStatusCode.Accepted);
        Assert.Equal([OutboxKinds.EmailVerification], (await _api.Grains.GetGrain<IOutboxGrain>("eve@example.com").List()).Select(m => m.Kind));
        (await _api.PostAsync("/api/v1/orgs", new { slug = "evil", name = "Evil Corp" }, ada.AccessToken)).Expect(HttpStatusCode.Created);
        Assert.Equal("ada's projects", (await _api.GetAsync($"/api/v1/orgs/{ada.PersonalOrganization}", ada.AccessToken)).Expect(HttpStatusCode.OK).Text("name"));
    }

    [Fact]
    public async Task Sign_up_without_a_name_takes_the_local_part_shortened_to_a_valid_name()
    {
        var local = new string('l', 120);
        var signedUp = await _api.SignUpAndLoginAsync($"{local}@example.com");
        var account = (await _api.GetAsync("/api/v1/me", signedUp.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal(new string('l', 100), account.Text("name"));
        Assert.Equal(new string('l', 89) + "'s projects", account["organizations"]![0]!.Text("name"));
    }

    [Fact]
    public async Task A_chunked_body_over_64_KiB_gets_400_naming_the_body()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var padding = new string('x', JsonBody.MaxBytes);
        using var chunked = new ChunkedJson($$"""{"email":"{{ada.Email}}","password":"not the password","padding":"{{padding}}"}""");
        var problem = (await _api.PostAsync("/api/v1/auth/login", chunked)).Expect(HttpStatusCode.BadRequest);
        Assert.Contains($"at most {JsonBody.MaxBytes} bytes", problem["errors"]!["body"]![0]!.GetValue<string>(), StringComparison.Ordinal);

        // Under the limit, a chunked body is read as usual.
        using var small = new ChunkedJson($$"""{"email":"{{ada.Email}}","password":"{{ada.Password}}"}""");
        (await _api.PostAsync("/api/v1/auth/login", small)).Expect(HttpStatusCode.OK);
    }

    public static TheoryData<string, string, string, string> BadInputs => new()
    {
        { "POST", "/api/v1/auth/signup", """{"password":"correct horse battery staple"}""", "email" },
        { "POST", "/api/v1/auth/signup", """{"email":"not-an-email","password":"correct horse battery staple"}""", "email" },
        { "POST", "/api/v1/auth/signup", """{"email":"a@b","password":"correct horse battery staple"}""", "email" },
        { "POST", "/api/v1/auth/signup", """{"email":42,"password":"correct horse battery staple"}""", "email" },
        { "POST", "/api/v1/auth/signup", $$"""{"email":"{{new string('a', 250)}}@example.com","password":"correct horse battery staple"}""", "email" },
        { "POST", "/api/v1/auth/signup", """{"email":"ok@example.com"}""", "password" },
        { "POST", "/api/v1/auth/signup", """{"email":"ok@example.com","password":"short"}""", "password" },
        { "POST", "/api/v1/auth/signup", """{"email":"ok@example.com","password":"password123"}""", "password" },
        { "POST", "/api/v1/auth/signup", $$"""{"email":"ok@example.com","password":"{{new string('p', 300)}}"}""", "password" },
        { "POST", "/api/v1/auth/signup", """{"email":"ok@example.com","password":true}""", "password" },
        { "POST", "/api/v1/auth/signup", $$"""{"email":"ok@example.com","password":"correct horse battery staple","name":"{{new string('n', 101)}}"}""", "name" },
        { "POST", "/api/v1/auth/signup", "not json", "body" },
        { "POST", "/api/v1/auth/signup", "[1,2]", "body" },
        { "POST", "/api/v1/auth/login", """{"email":"ada@example.com","password":[]}""", "password" },
        { "POST", "/api/v1/auth/refresh", """{"refresh_token":"eyJhbGciOi.x.y"}""", "refresh_token" },
        { "POST", "/api/v1/auth/password-reset/confirm", """{"token":"cdp_u1.2.3"}""", "new_password" },
        { "POST", "/api/v1/me/tokens", """{"name":"ci","scopes":"read"}""", "scopes" },
        { "POST", "/api/v1/me/tokens", """{"name":"ci","scopes":["root"]}""", "scopes" },
        { "POST", "/api/v1/me/tokens", """{"name":"ci","scopes":["read"],"expires_at":"tomorrow"}""", "expires_at" },
        { "POST", "/api/v1/me/tokens", $$"""{"name":"{{new string('t', 101)}}","scopes":["read"]}""", "name" },
        { "POST", "/api/v1/me/password", """{"current_password":"wrong password here","new_password":"a new fine passphrase"}""", "current_password" },
        { "POST", "/api/v1/me/mfa/verify", """{"code":123456}""", "code" },
        { "POST", "/api/v1/orgs", """{"slug":"Bad Slug!","name":"x"}""", "slug" },
        { "POST", "/api/v1/orgs", """{"slug":"fine-slug"}""", "name" },
        { "PATCH", "/api/v1/orgs/NOPE!", """{"name":"x"}""", "slug" },
        { "GET", "/api/v1/orgs/ada/audit?limit=1000", "", "limit" },
        { "GET", "/api/v1/orgs/ada/audit?cursor=not%20a%20cursor", "", "cursor" },
        { "POST", "/api/v1/orgs/ada/invitations", """{"email":"x@example.com","role":"god"}""", "role" },
        { "POST", "/api/v1/orgs/ada/invitations", """{"email":"nope","role":"viewer"}""", "email" },
        { "DELETE", "/api/v1/orgs/ada/members/bob", "", "userId" },
        { "POST", "/api/v1/invitations/accept", """{"token":"cdr_a.b.c"}""", "token" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_gets_400_problem_details_naming_the_field(string method, string path, string body, string field)
    {
        // Verified, so that the API-token rows reach their field checks rather than "verify your email first".
        var ada = await _api.SignUpAndLoginAsync("ada@example.com", verifyEmail: true);
        var answer = await _api.SendAsync(new HttpMethod(method), path, body.Length == 0 ? null : body, ada.AccessToken);
        var problem = answer.Expect(HttpStatusCode.BadRequest);
        Assert.Equal("application/problem+json", answer.MediaType);
        Assert.True(problem["errors"]?[field] is JsonArray, $"{method} {path}: the problem should name '{field}' in errors: {answer.Body}");
        Assert.Contains(field, problem.Text("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_log_line_or_response_body_carries_a_password_or_secret()
    {
        var secrets = new List<(string What, string Value)>();
        var shownOnce = new List<(string What, string Value)>();

        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        secrets.Add(("password", ada.Password));
        secrets.Add(("access token", ada.AccessToken!));
        shownOnce.Add(("refresh token", SecretOf(ada.RefreshToken!)));

        var verification = await _api.TokenFromOutboxAsync(ada.Email, OutboxKinds.EmailVerification);
        secrets.Add(("verification token", verification));
        (await _api.PostAsync("/api/v1/auth/verify-email", new { token = verification })).Expect(HttpStatusCode.NoContent);

        // Failed logins are logged by nobody with their password.
        var wrongPassword = "a wrong guess of a password";
        secrets.Add(("wrong password", wrongPassword));
        (await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = wrongPassword })).Expect(HttpStatusCode.Unauthorized);

        var enrollment = (await _api.PostAsync("/api/v1/me/mfa/enroll", null, ada.AccessToken)).Expect(HttpStatusCode.OK);
        var totpSecret = System.Web.HttpUtility.ParseQueryString(new Uri(enrollment.Text("otp_auth_uri")).Query)["secret"]!;
        shownOnce.Add(("TOTP secret", totpSecret));
        var code = Totp.Compute(Totp.Base32Decode(totpSecret), Totp.TimeStep(_api.Clock.GetUtcNow()));
        var recovery = (await _api.PostAsync("/api/v1/me/mfa/verify", new { code }, ada.AccessToken)).Expect(HttpStatusCode.OK);
        var recoveryCodes = recovery["codes"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
        shownOnce.AddRange(recoveryCodes.Select(c => ("recovery code", c)));

        var challenge = (await _api.PostAsync("/api/v1/auth/login", new { email = ada.Email, password = ada.Password })).Expect(HttpStatusCode.OK).Text("challenge");
        shownOnce.Add(("MFA challenge", SecretOf(challenge)));
        var mfaLogin = (await _api.PostAsync("/api/v1/auth/login/mfa", new { challenge, code = recoveryCodes[0] })).Expect(HttpStatusCode.OK);
        shownOnce.Add(("refresh token after MFA", SecretOf(mfaLogin.Text("refresh_token"))));

        var apiToken = (await _api.PostAsync("/api/v1/me/tokens", new { name = "ci", scopes = new[] { "deploy" } }, ada.AccessToken)).Expect(HttpStatusCode.Created).Text("token");
        shownOnce.Add(("API token", SecretOf(apiToken)));
        (await _api.GetAsync("/api/v1/me", apiToken)).Expect(HttpStatusCode.OK);
        (await _api.GetAsync("/api/v1/me/tokens", ada.AccessToken)).Expect(HttpStatusCode.OK);

        var newPassword = "a completely new passphrase";
        secrets.Add(("changed password", newPassword));
        (await _api.PostAsync("/api/v1/me/password", new { current_password = ada.Password, new_password = newPassword }, ada.AccessToken)).Expect(HttpStatusCode.NoContent);

        (await _api.PostAsync("/api/v1/auth/password-reset", new { email = ada.Email })).Expect(HttpStatusCode.Accepted);
        var reset = await _api.TokenFromOutboxAsync(ada.Email, OutboxKinds.PasswordReset);
        secrets.Add(("reset token", reset));
        var resetPassword = "the password after the reset";
        secrets.Add(("reset password", resetPassword));
        (await _api.PostAsync("/api/v1/auth/password-reset/confirm", new { token = reset, new_password = resetPassword })).Expect(HttpStatusCode.NoContent);

        var logs = _api.Logs.Lines;
        Assert.Contains(logs, line => line.Contains("Outbox: password-reset email to ada@example.com", StringComparison.Ordinal));
        var responses = _api.Responses.ToList();
        foreach (var (what, value) in secrets.Concat(shownOnce))
        {
            var leaked = logs.FirstOrDefault(line => line.Contains(value, StringComparison.Ordinal));
            Assert.True(leaked is null, $"A log line carries the {what}: {leaked}");
        }

        foreach (var (what, value) in secrets)
        {
            if (what == "access token") continue; // issued in the login answer by design
            Assert.True(!responses.Any(r => r.Contains(value, StringComparison.Ordinal)), $"A response body carries the {what}.");
        }

        foreach (var (what, value) in shownOnce)
        {
            var count = responses.Count(r => r.Contains(value, StringComparison.Ordinal));
            Assert.True(count == 1, $"The {what} should appear in exactly the one answer that creates it, not {count}.");
        }
    }

    private static string SecretOf(string token) => token.Split('.')[^1];

    /// <summary>Enrolls and confirms MFA over HTTP; answers the authenticator's key.</summary>
    private async Task<byte[]> EnableMfaAsync(Account account)
    {
        var enrollment = (await _api.PostAsync("/api/v1/me/mfa/enroll", null, account.AccessToken)).Expect(HttpStatusCode.OK);
        var secret = Totp.Base32Decode(System.Web.HttpUtility.ParseQueryString(new Uri(enrollment.Text("otp_auth_uri")).Query)["secret"]!);
        var code = Totp.Compute(secret, Totp.TimeStep(_api.Clock.GetUtcNow()));
        (await _api.PostAsync("/api/v1/me/mfa/verify", new { code }, account.AccessToken)).Expect(HttpStatusCode.OK);
        // The confirming code's step is spent; later codes come from the next one.
        _api.Clock.Advance(Totp.Step);
        return secret;
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
