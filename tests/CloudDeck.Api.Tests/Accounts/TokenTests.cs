using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Actors.Extensions.Streams;
using CloudDeck.Grains.Accounts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CloudDeck.Api.Tests.Accounts;

/// <summary>Bearer tokens at the HTTP edge: what is refused (401) and what a token's scope allows.</summary>
public sealed class TokenTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new();

    [Fact]
    public async Task Expired_tampered_wrong_key_and_alg_none_access_tokens_are_refused()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var bob = await _api.SignUpAndLoginAsync("bob@example.com");
        (await _api.GetAsync("/api/v1/me", ada.AccessToken)).Expect(HttpStatusCode.OK);

        var (header, payload, signature) = Split(ada.AccessToken!);
        var claims = JsonNode.Parse(Base64UrlDecode(payload))!.AsObject();

        // Tampered: ada's signature over a payload that now claims to be bob.
        var asBob = claims.DeepClone().AsObject();
        asBob["sub"] = bob.UserId;
        var tampered = $"{header}.{Base64UrlEncode(asBob.ToJsonString())}.{signature}";

        // alg: none, with no signature at all.
        var none = $"{Base64UrlEncode("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{payload}.";

        // Well formed, right issuer and audience, signed with a key that is not the server's.
        var otherKey = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32));
        var wrongKey = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "clouddeck",
            Audience = "clouddeck",
            Expires = DateTime.UtcNow.AddMinutes(10),
            Subject = new ClaimsIdentity([new Claim("sub", ada.UserId), new Claim("email", ada.Email), new Claim("sid", "x")]),
            SigningCredentials = new SigningCredentials(otherKey, SecurityAlgorithms.HmacSha256),
        });

        foreach (var (what, token) in new[] { ("tampered", tampered), ("alg none", none), ("wrong key", wrongKey), ("garbage", "not-a-token"), ("bad api token", "cdk_u0123456789abcdef.0123456789abcdef.nope") })
        {
            var answer = await _api.GetAsync("/api/v1/me", token);
            Assert.True(answer.Status == HttpStatusCode.Unauthorized, $"A {what} token got {(int)answer.Status}: {answer.Body}");
            Assert.Equal("application/problem+json", answer.MediaType);
        }

        // Expired: the same token once the clock passes its 15 minutes.
        _api.Clock.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(1));
        (await _api.GetAsync("/api/v1/me", ada.AccessToken)).Expect(HttpStatusCode.Unauthorized);

        // The refresh token still works, and answers a fresh access token.
        var refreshed = (await _api.PostAsync("/api/v1/auth/refresh", new { refresh_token = ada.RefreshToken })).Expect(HttpStatusCode.OK);
        (await _api.GetAsync("/api/v1/me", refreshed.Text("access_token"))).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Access_tokens_signed_with_the_servers_key_for_another_issuer_or_audience_are_refused()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var key = new SymmetricSecurityKey(_api.Services.GetRequiredService<SigningKey>().Bytes);
        string Sign(string issuer, string audience)
        {
            var now = _api.Clock.GetUtcNow().UtcDateTime;
            return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer,
                Audience = audience,
                IssuedAt = now,
                NotBefore = now,
                Expires = now.AddMinutes(10),
                Subject = new ClaimsIdentity([new Claim("sub", ada.UserId), new Claim("email", ada.Email), new Claim("sid", "x")]),
                SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
            });
        }

        // The same recipe with the right issuer and audience is accepted, so the refusals below are theirs alone.
        (await _api.GetAsync("/api/v1/me", Sign("clouddeck", "clouddeck"))).Expect(HttpStatusCode.OK);
        foreach (var (what, token) in new[] { ("issuer", Sign("someone-else", "clouddeck")), ("audience", Sign("clouddeck", "another-service")) })
        {
            var answer = await _api.GetAsync("/api/v1/me", token);
            Assert.True(answer.Status == HttpStatusCode.Unauthorized, $"A token for another {what} got {(int)answer.Status}: {answer.Body}");
            Assert.Equal("application/problem+json", answer.MediaType);
        }
    }

    [Fact]
    public async Task Access_tokens_with_the_servers_key_but_another_algorithm_no_expiry_or_a_later_start_are_refused_as_is_a_non_bearer_header()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var key = _api.Services.GetRequiredService<SigningKey>().Bytes;
        var now = _api.Clock.GetUtcNow();
        string Payload(DateTimeOffset? notBefore, DateTimeOffset? expires) => Base64UrlEncode(new JsonObject
        {
            ["iss"] = "clouddeck", ["aud"] = "clouddeck", ["sub"] = ada.UserId, ["email"] = ada.Email, ["sid"] = "x",
            ["nbf"] = notBefore?.ToUnixTimeSeconds(), ["exp"] = expires?.ToUnixTimeSeconds(),
        }.ToJsonString());
        // Signed by hand, so that no library refuses to make what an attacker would send.
        string Sign(string algorithm, string payload)
        {
            var header = Base64UrlEncode($$"""{"alg":"{{algorithm}}","typ":"JWT"}""");
            var input = Encoding.ASCII.GetBytes($"{header}.{payload}");
            var mac = algorithm switch { "HS256" => HMACSHA256.HashData(key, input), "HS384" => HMACSHA384.HashData(key, input), _ => HMACSHA512.HashData(key, input) };
            return $"{header}.{payload}.{Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_')}";
        }

        // The recipe is right: HS256 with a current lifetime is accepted, so each refusal below is its difference alone.
        (await _api.GetAsync("/api/v1/me", Sign("HS256", Payload(now, now.AddMinutes(10))))).Expect(HttpStatusCode.OK);
        foreach (var (what, token) in new[]
                 {
                     ("HS512", Sign("HS512", Payload(now, now.AddMinutes(10)))),
                     ("HS384", Sign("HS384", Payload(now, now.AddMinutes(10)))),
                     ("no exp", Sign("HS256", Payload(now, null))),
                     ("nbf in 10 minutes", Sign("HS256", Payload(now.AddMinutes(10), now.AddMinutes(20)))),
                 })
        {
            var answer = await _api.GetAsync("/api/v1/me", token);
            Assert.True(answer.Status == HttpStatusCode.Unauthorized, $"A token with {what} got {(int)answer.Status}: {answer.Body}");
            Assert.Equal("application/problem+json", answer.MediaType);
        }

        // Another scheme, or the session's token in a URL outside the hubs: 401 asking for a bearer token.
        foreach (var (path, authorization) in new[] { ("/api/v1/me", $"Basic {Convert.ToBase64String(Encoding.ASCII.GetBytes("ada:pw"))}"),
                     ("/api/v1/me", ada.AccessToken!), ($"/api/v1/me?access_token={ada.AccessToken}", null) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
            using var response = await _api.Http.SendAsync(request, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Tokens_whose_owner_is_not_a_user_id_are_refused_without_activating_a_grain()
    {
        async Task<int> ActivationsAsync() => (int)(await _api.GetAsync("/healthz")).Expect(HttpStatusCode.OK)["activations"]!;
        var before = await ActivationsAsync();

        const string rest = "0123456789abcdef.c2VjcmV0";
        foreach (var owner in new[] { "admin", "u123", "U0123456789ABCDEF", "u0123456789abcdeg", "u0123456789abcdef0", new string('x', 40) })
        {
            (await _api.GetAsync("/api/v1/me", $"cdk_{owner}.{rest}")).Expect(HttpStatusCode.Unauthorized);
            // Tokens in bodies are refused like any malformed token: 400 naming the field.
            (await _api.PostAsync("/api/v1/auth/refresh", new { refresh_token = $"cdr_{owner}.{rest}" })).Expect(HttpStatusCode.BadRequest);
            (await _api.PostAsync("/api/v1/auth/logout", new { refresh_token = $"cdr_{owner}.{rest}" })).Expect(HttpStatusCode.BadRequest);
            (await _api.PostAsync("/api/v1/auth/verify-email", new { token = $"cdv_{owner}.{rest}" })).Expect(HttpStatusCode.BadRequest);
            (await _api.PostAsync("/api/v1/auth/login/mfa", new { challenge = $"cdm_{owner}.{rest}", code = "123456" })).Expect(HttpStatusCode.BadRequest);
            (await _api.PostAsync("/api/v1/auth/password-reset/confirm", new { token = $"cdp_{owner}.{rest}", new_password = "a fine new passphrase" }))
                .Expect(HttpStatusCode.BadRequest);
        }

        Assert.Equal(before, await ActivationsAsync());
    }

    [Fact]
    public async Task A_reused_refresh_token_revokes_the_family_over_HTTP()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var first = ada.RefreshToken;
        var second = (await _api.PostAsync("/api/v1/auth/refresh", new { refresh_token = first })).Expect(HttpStatusCode.OK).Text("refresh_token");
        (await _api.PostAsync("/api/v1/auth/refresh", new { refresh_token = first })).Expect(HttpStatusCode.Unauthorized);
        (await _api.PostAsync("/api/v1/auth/refresh", new { refresh_token = second })).Expect(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Api_tokens_authenticate_within_their_scopes_until_revoked_or_expired()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@example.com", verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var read = (await _api.PostAsync("/api/v1/me/tokens", new { name = "ci", scopes = new[] { "read" } }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var readToken = read.Text("token");
        Assert.StartsWith("cdk_", readToken, StringComparison.Ordinal);

        (await _api.GetAsync("/api/v1/orgs/acme", readToken)).Expect(HttpStatusCode.OK);
        (await _api.SendAsync(HttpMethod.Patch, "/api/v1/orgs/acme", new { name = "Mine" }, readToken)).Expect(HttpStatusCode.Forbidden);
        (await _api.PostAsync("/api/v1/me/tokens", new { name = "escalate", scopes = new[] { "admin" } }, readToken)).Expect(HttpStatusCode.Forbidden);
        (await _api.PostAsync("/api/v1/me/mfa/enroll", null, readToken)).Expect(HttpStatusCode.Forbidden);

        // Listed without the secret; revoked, it stops working at once.
        var listed = (await _api.GetAsync("/api/v1/me/tokens", owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.DoesNotContain(readToken.Split('.')[^1], listed.ToJsonString(), StringComparison.Ordinal);
        (await _api.SendAsync(HttpMethod.Delete, $"/api/v1/me/tokens/{read["details"]!.Text("id")}", null, owner.AccessToken)).Expect(HttpStatusCode.NoContent);
        (await _api.GetAsync("/api/v1/orgs/acme", readToken)).Expect(HttpStatusCode.Unauthorized);

        var expiring = (await _api.PostAsync("/api/v1/me/tokens",
            new { name = "short", scopes = new[] { "admin" }, expires_at = _api.Clock.GetUtcNow().AddHours(1) }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        (await _api.SendAsync(HttpMethod.Patch, "/api/v1/orgs/acme", new { name = "Renamed" }, expiring.Text("token"))).Expect(HttpStatusCode.OK);
        _api.Clock.Advance(TimeSpan.FromHours(1));
        (await _api.GetAsync("/api/v1/orgs/acme", expiring.Text("token"))).Expect(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_generated_signing_key_is_private_to_its_owner_and_kept_across_restarts()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var keyFile = Path.Combine(_api.DataDirectory, "auth", "jwt-signing.key");
        Assert.True(File.Exists(keyFile), $"No key at {keyFile}");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));

        // A second host on the same data directory (after the first stops) accepts the first one's tokens.
        await _api.DisposeAsync(keepData: true);
        await using var restarted = new InProcessApi(_api.DataDirectory);
        restarted.Clock.Set(_api.Clock.GetUtcNow());
        (await restarted.GetAsync("/api/v1/me", ada.AccessToken)).Expect(HttpStatusCode.OK);
    }

    private static (string Header, string Payload, string Signature) Split(string jwt)
    {
        var parts = jwt.Split('.');
        return (parts[0], parts[1], parts[2]);
    }

    private static string Base64UrlEncode(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        return Encoding.UTF8.GetString(Convert.FromBase64String(padded));
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
