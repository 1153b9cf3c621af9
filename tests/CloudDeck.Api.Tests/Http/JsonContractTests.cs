using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Http;

/// <summary>
/// The API's JSON contract from the client's side: a member in another case (or not part of the request at all) is a
/// 400 naming it, never silently ignored; refusals carry their data as typed ProblemDetails properties (field, limit,
/// current, maximum, resets_at), so no client parses them out of the detail's text.
/// </summary>
public sealed class JsonContractTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new(diagnostics: true, settings: new Dictionary<string, string?>
    {
        ["CloudDeck:Plans:Hobby:TeamMembers"] = "1",
        ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "1",
    });

    private static JsonObject Errors(JsonNode problem) => problem["errors"]!.AsObject();

    [Fact]
    public async Task A_camelCase_member_is_a_400_naming_it_and_the_request_does_nothing()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");

        var refused = (await _api.PostAsync("/api/v1/auth/refresh", $$"""{"refreshToken":"{{ada.RefreshToken}}"}""")).Expect(HttpStatusCode.BadRequest);
        Assert.Contains("send 'refresh_token'", Errors(refused)["refreshToken"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("is required", Errors(refused)["refresh_token"]![0]!.GetValue<string>());
        // The refresh token was not used: it still refreshes, once, under its contract name.
        (await _api.PostAsync("/api/v1/auth/refresh", new { refresh_token = ada.RefreshToken })).Expect(HttpStatusCode.OK);

        var org = ada.PersonalOrganization;
        var project = (await _api.PostAsync($"/api/v1/orgs/{org}/projects", """{"name":"web","gitUrl":"https://git.example.test/a/b.git"}""", ada.AccessToken))
            .Expect(HttpStatusCode.BadRequest);
        Assert.Equal("gitUrl", project.Text("field"));
        Assert.Contains("send 'git_url'", Errors(project)["gitUrl"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty((await _api.GetAsync($"/api/v1/orgs/{org}/projects", ada.AccessToken)).Expect(HttpStatusCode.OK).Items());
    }

    [Fact]
    public async Task PascalCase_and_unknown_members_are_named_at_any_depth_and_on_routes_that_bind_a_type()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com");
        var org = ada.PersonalOrganization;

        var login = (await _api.PostAsync("/api/v1/auth/login", """{"Email":"ada@example.com","Password":"correct horse battery staple"}""")).Expect(HttpStatusCode.BadRequest);
        Assert.Contains("send 'email'", Errors(login)["Email"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.True(Errors(login).ContainsKey("Password"));

        var usage = (await _api.PostAsync("/api/v1/usage/events", $$"""{"org":"{{org}}","events":[{"id":"e1","kind":"api_requests","Quantity":2}]}""", ada.AccessToken))
            .Expect(HttpStatusCode.BadRequest);
        Assert.Equal("events[0].Quantity", usage.Text("field"));

        var missing = (await _api.PostAsync($"/api/v1/orgs/{org}/files/missing",
            $$"""{"files":[{"sha256":"{{new string('a', 64)}}","size":1,"mode":"0644"}],"dryRun":true}""", ada.AccessToken)).Expect(HttpStatusCode.BadRequest);
        Assert.True(Errors(missing).ContainsKey("files[0].mode"), missing.ToJsonString());
        Assert.True(Errors(missing).ContainsKey("dryRun"), missing.ToJsonString());

        // A route whose body the framework binds to a type: the reader's path names the field.
        var probe = (await _api.SendAsync(HttpMethod.Put, "/_diag/probe/contract", """{"Value":"x"}""")).Expect(HttpStatusCode.BadRequest);
        Assert.Equal("Value", probe.Text("field"));
        (await _api.SendAsync(HttpMethod.Put, "/_diag/probe/contract", """{"value":"x"}""")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_validation_refusal_names_its_field_as_a_typed_property_from_the_endpoint_and_from_the_grain()
    {
        var ada = await _api.SignUpAndLoginAsync("ada@example.com", verifyEmail: true);

        // Checked by the endpoint.
        var slug = (await _api.PostAsync("/api/v1/orgs", new { slug = "Not A Slug", name = "Team" }, ada.AccessToken)).Expect(HttpStatusCode.BadRequest);
        Assert.Equal(JsonValueKind.String, slug["field"]!.GetValueKind());
        Assert.Equal("slug", slug.Text("field"));

        // Checked by the user grain (InvalidFieldException), answered through DomainErrorFilter.
        var past = _api.Clock.GetUtcNow().AddDays(-1);
        var token = (await _api.PostAsync("/api/v1/me/tokens", new { name = "ci", scopes = new[] { "read" }, expires_at = past }, ada.AccessToken))
            .Expect(HttpStatusCode.BadRequest);
        Assert.Equal("expires_at", token.Text("field"));
        Assert.Equal("must be in the future", Errors(token)["expires_at"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task A_plan_limit_refusal_carries_limit_as_a_string_and_current_and_maximum_as_numbers()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme" }, owner.AccessToken)).Expect(HttpStatusCode.Created);

        var refused = (await _api.PostAsync("/api/v1/orgs/acme/invitations", new { email = "dev@acme.test", role = "developer" }, owner.AccessToken))
            .Expect(HttpStatusCode.PaymentRequired);

        Assert.Equal((JsonValueKind.String, JsonValueKind.Number, JsonValueKind.Number),
            (refused["limit"]!.GetValueKind(), refused["current"]!.GetValueKind(), refused["maximum"]!.GetValueKind()));
        Assert.Equal(("team_members", 1L, 1L), (refused.Text("limit"), refused["current"]!.GetValue<long>(), refused["maximum"]!.GetValue<long>()));
        // Team members do not reset with a period: the property is there, null.
        Assert.True(refused.AsObject().ContainsKey("resets_at") && refused["resets_at"] is null, refused.ToJsonString());
        // The detail is text for people; nothing machine-readable is appended to it.
        Assert.DoesNotContain("limit=", refused.Text("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rate_limit_refusal_carries_resets_at_as_an_ISO_8601_string_matching_retry_after()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        var org = owner.PersonalOrganization;
        (await _api.PostAsync("/_diag/builds", new { org, lines = 1 }, owner.AccessToken)).Expect(HttpStatusCode.Created);

        var answer = await _api.PostAsync("/_diag/builds", new { org, lines = 1 }, owner.AccessToken);
        var refused = answer.Expect(HttpStatusCode.TooManyRequests);

        Assert.Equal(JsonValueKind.String, refused["resets_at"]!.GetValueKind());
        var resetsAt = DateTimeOffset.ParseExact(refused.Text("resets_at"), "yyyy-MM-dd'T'HH:mm:ssK", System.Globalization.CultureInfo.InvariantCulture);
        var now = _api.Clock.GetUtcNow();
        Assert.Equal(new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero), resetsAt);
        Assert.Equal(Math.Max(1, Math.Ceiling((resetsAt - now).TotalSeconds)), answer.RetryAfter!.Value.TotalSeconds);
        Assert.Equal(("builds_per_day", 1L, 1L), (refused.Text("limit"), refused["current"]!.GetValue<long>(), refused["maximum"]!.GetValue<long>()));
    }

    public ValueTask DisposeAsync() => _api.DisposeAsync();
}
