using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Licenses;

/// <summary>The license API over HTTP: the validate answer's shape, malformed keys, consume's 429, offline licenses and the published key.</summary>
public sealed class LicenseApiTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new();

    private async Task<(Account Owner, JsonNode Issued)> IssueAsync(string tier = "PRO", int? maxDevices = null, string email = "owner@acme.test")
    {
        var owner = await _api.SignUpAndLoginAsync(email, verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var issued = (await _api.PostAsync("/api/v1/orgs/acme/licenses", new { tier, name = "Fleet", max_devices = maxDevices }, owner.AccessToken))
            .Expect(HttpStatusCode.Created);
        return (owner, issued);
    }

    [Fact]
    public async Task Validate_answers_the_documented_shape_and_the_key_is_shown_only_at_issue()
    {
        var (owner, issued) = await IssueAsync(maxDevices: 1);
        var key = issued.Text("license_key");
        Assert.StartsWith("cdl_", key, StringComparison.Ordinal);
        var id = issued["license"]!.Text("id");

        var answer = (await _api.PostAsync("/api/v1/licenses/validate", new { license_key = key, machine_id = "host-1", version = "1.2.3" }))
            .Expect(HttpStatusCode.OK).AsObject();
        Assert.Equal(["cached_until", "detail", "devices_used", "expires_at", "features", "max_devices", "quotas", "reason", "tier", "valid"],
            answer.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.True(answer["valid"]!.GetValue<bool>());
        Assert.Equal("PRO", answer.Text("tier"));
        Assert.Null(answer["expires_at"]);
        Assert.Null(answer["reason"]);
        Assert.Equal(["core", "offline"], answer["features"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal(10_000, answer["quotas"]!["commands_per_day"]!.GetValue<long>());
        Assert.True(DateTimeOffset.Parse(answer.Text("cached_until"), System.Globalization.CultureInfo.InvariantCulture) > _api.Clock.GetUtcNow());

        // A second machine on a one-machine license: refused, with a reason a program can read and a sentence a person can.
        var refused = (await _api.PostAsync("/api/v1/licenses/validate", new { license_key = key, machine_id = "host-2" })).Expect(HttpStatusCode.OK);
        Assert.False(refused["valid"]!.GetValue<bool>());
        Assert.Equal("device_limit", refused.Text("reason"));
        Assert.Contains("1 of 1 machines", refused.Text("detail"), StringComparison.Ordinal);
        (await _api.PostAsync("/api/v1/licenses/deactivate", new { license_key = key, machine_id = "host-1" })).Expect(HttpStatusCode.NoContent);
        Assert.True((await _api.PostAsync("/api/v1/licenses/validate", new { license_key = key, machine_id = "host-2" })).Expect(HttpStatusCode.OK)["valid"]!.GetValue<bool>());

        // Revoked: still 200, valid false.
        (await _api.PostAsync($"/api/v1/orgs/acme/licenses/{id}/revoke", null, owner.AccessToken)).Expect(HttpStatusCode.OK);
        var revoked = (await _api.PostAsync("/api/v1/licenses/validate", new { license_key = key, machine_id = "host-2" })).Expect(HttpStatusCode.OK);
        Assert.Equal("revoked", revoked.Text("reason"));

        // The key appears in no later answer, and in no log line.
        var listed = (await _api.GetAsync("/api/v1/orgs/acme/licenses", owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal("revoked", listed.Items()[0]!.Text("status"));
        Assert.Single(_api.Responses, r => r.Contains(key[4..], StringComparison.Ordinal));
        Assert.DoesNotContain(_api.Logs.Lines, line => line.Contains(key[21..], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Malformed_and_unknown_keys_are_refused_and_a_malformed_key_activates_no_grain()
    {
        var (_, issued) = await IssueAsync();
        var key = issued.Text("license_key");
        var before = (await _api.GetAsync("/healthz")).Expect(HttpStatusCode.OK)["activations"]!.GetValue<int>();
        var typo = key[..25] + (key[25] == 'A' ? 'B' : 'A') + key[26..];
        foreach (var bad in new[] { typo, key[..^1], "cdl_nonsense", key.ToUpperInvariant() })
        {
            var answer = (await _api.PostAsync("/api/v1/licenses/validate", new { license_key = bad, machine_id = "host-1" })).Expect(HttpStatusCode.BadRequest);
            Assert.NotNull(answer["errors"]!["license_key"]);
            Assert.Equal("application/problem+json", (await _api.PostAsync("/api/v1/licenses/consume", new { license_key = bad, machine_id = "h" })).MediaType);
        }

        Assert.Equal(before, (await _api.GetAsync("/healthz")).Expect(HttpStatusCode.OK)["activations"]!.GetValue<int>());
        Assert.NotNull((await _api.PostAsync("/api/v1/licenses/validate", new { license_key = key, machine_id = "has space" }))
            .Expect(HttpStatusCode.BadRequest)["errors"]!["machine_id"]);

        // Well formed, but no such license: 404, and the same for a real id with another secret.
        var unknown = new GrainInterfaces.Licenses.LicenseKey("0123456789abcdef", new string('x', 43)).ToString();
        (await _api.PostAsync("/api/v1/licenses/validate", new { license_key = unknown, machine_id = "host-1" })).Expect(HttpStatusCode.NotFound);
        var forged = new GrainInterfaces.Licenses.LicenseKey(issued["license"]!.Text("id"), new string('x', 43)).ToString();
        (await _api.PostAsync("/api/v1/licenses/validate", new { license_key = forged, machine_id = "host-1" })).Expect(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Consume_answers_429_with_the_limit_and_reset_once_the_day_is_spent_and_works_again_the_next_UTC_day()
    {
        var (_, issued) = await IssueAsync(tier: "FREE");
        var key = issued.Text("license_key");
        var used = (await _api.PostAsync("/api/v1/licenses/consume", new { license_key = key, machine_id = "host-1", count = 100 })).Expect(HttpStatusCode.OK);
        Assert.Equal(0, used["remaining"]!.GetValue<long>());
        var over = await _api.PostAsync("/api/v1/licenses/consume", new { license_key = key, machine_id = "host-1" });
        var problem = over.Expect(HttpStatusCode.TooManyRequests);
        Assert.Equal(("quota_exceeded", "commands_per_day", 100L), (problem.Text("reason"), problem.Text("quota"), problem["limit"]!.GetValue<long>()));
        Assert.NotNull(over.RetryAfter);
        var resetsAt = DateTimeOffset.Parse(problem.Text("resets_at"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Zero, resetsAt.TimeOfDay);

        _api.Clock.Set(resetsAt);
        Assert.Equal(1, (await _api.PostAsync("/api/v1/licenses/consume", new { license_key = key, machine_id = "host-1" })).Expect(HttpStatusCode.OK)["used"]!.GetValue<long>());
        Assert.NotNull((await _api.PostAsync("/api/v1/licenses/consume", new { license_key = key, machine_id = "host-1", count = 0 }))
            .Expect(HttpStatusCode.BadRequest)["errors"]!["count"]);
    }

    [Fact]
    public async Task An_offline_license_verifies_with_the_published_key_and_fails_when_one_byte_changes()
    {
        var (owner, issued) = await IssueAsync();
        var id = issued["license"]!.Text("id");
        var offline = (await _api.PostAsync($"/api/v1/orgs/acme/licenses/{id}/offline", new { machine_id = "air-gapped-1" }, owner.AccessToken))
            .Expect(HttpStatusCode.OK);
        var token = offline.Text("token");

        var published = (await _api.GetAsync("/api/v1/licenses/public-key")).Expect(HttpStatusCode.OK);
        Assert.Equal("ES256", published.Text("algorithm"));
        using var fromPem = ECDsa.Create();
        fromPem.ImportFromPem(published.Text("pem"));
        var jwk = published["jwk"]!;
        using var fromJwk = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlDecode(jwk.Text("x")), Y = Base64UrlDecode(jwk.Text("y")) },
        });

        Assert.True(Verify(fromPem, token));
        Assert.True(Verify(fromJwk, token));
        var parts = token.Split('.');
        var header = JsonNode.Parse(Base64UrlDecode(parts[0]))!;
        Assert.Equal(("ES256", published.Text("key_id")), (header.Text("alg"), header.Text("kid")));
        var payload = Base64UrlDecode(parts[1]);
        var claims = JsonNode.Parse(payload)!;
        Assert.Equal((id, "air-gapped-1", "PRO"), (claims.Text("sub"), claims.Text("machine_id"), claims.Text("tier")));
        Assert.Equal(_api.Clock.GetUtcNow().AddDays(30).ToUnixTimeSeconds(), claims["exp"]!.GetValue<long>());

        // One byte changed anywhere (the payload, or the signature) and the file no longer verifies.
        for (var i = 0; i < payload.Length; i += 7)
        {
            var changed = (byte[])payload.Clone();
            changed[i] ^= 0x01;
            Assert.False(Verify(fromPem, $"{parts[0]}.{Base64Url(changed)}.{parts[2]}"), $"payload byte {i}");
        }

        var signature = Base64UrlDecode(parts[2]);
        signature[10] ^= 0x80;
        Assert.False(Verify(fromPem, $"{parts[0]}.{parts[1]}.{Base64Url(signature)}"));

        // The machine took a device slot; FREE has no offline feature.
        Assert.Contains((await _api.GetAsync($"/api/v1/orgs/acme/licenses/{id}", owner.AccessToken)).Expect(HttpStatusCode.OK)["devices"]!.AsArray(),
            d => d!.Text("machine_id") == "air-gapped-1");
        var free = (await _api.PostAsync("/api/v1/orgs/acme/licenses", new { tier = "FREE", name = "Hobby" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        (await _api.PostAsync($"/api/v1/orgs/acme/licenses/{free["license"]!.Text("id")}/offline", new { machine_id = "m" }, owner.AccessToken))
            .Expect(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Key_routes_are_rate_limited_per_client_address_with_429_and_Retry_After()
    {
        await using var limited = new InProcessApi(settings: new Dictionary<string, string?> { ["CloudDeck:Licenses:RequestsPerSecondPerAddress"] = "1" });
        var key = new GrainInterfaces.Licenses.LicenseKey("0123456789abcdef", new string('x', 43)).ToString();
        var answers = new List<Answer>();
        // A burst of 10 is allowed, then one a second: 30 quick requests cannot all get through.
        for (var i = 0; i < 30; i++) answers.Add(await limited.PostAsync("/api/v1/licenses/validate", new { license_key = key, machine_id = "m" }));
        Assert.Contains(answers, a => a.Status == HttpStatusCode.NotFound);
        var refused = Assert.Single(answers.Where(a => a.Status == HttpStatusCode.TooManyRequests).Take(1));
        Assert.Equal(("application/problem+json", TimeSpan.FromSeconds(1)), (refused.MediaType, refused.RetryAfter));
        // The public key is not a keyed route and is not limited.
        (await limited.GetAsync("/api/v1/licenses/public-key")).Expect(HttpStatusCode.OK);
    }

    private static bool Verify(ECDsa key, string jws)
    {
        var parts = jws.Split('.');
        return key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), Base64UrlDecode(parts[2]), HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
