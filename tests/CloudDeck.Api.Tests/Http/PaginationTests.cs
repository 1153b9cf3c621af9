using System.Net;
using System.Text.Json.Nodes;
using CloudDeck.Api.Http;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Mail;

namespace CloudDeck.Api.Tests.Http;

/// <summary>
/// Every list route of the API pages the same way (issue 21): <c>limit</c> (default 50, at most 100) and <c>cursor</c>,
/// answered as <c>{ items, next_cursor }</c>. For each one, with several items of its own, walking pages of two gives
/// exactly the one-page list, in the same order, and wrong parameters are 400s naming them.
/// </summary>
public sealed class PaginationTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new(settings: new Dictionary<string, string?> { ["CloudDeck:Plans:Hobby:TeamMembers"] = "-1" });

    [Fact]
    public async Task Every_list_route_pages_with_limit_and_cursor_and_walking_its_pages_gives_the_whole_list_in_order()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@example.com", verifyEmail: true);
        var token = owner.AccessToken!;
        var org = owner.PersonalOrganization;
        for (var i = 0; i < 2; i++) await _api.LoginAsync(new Account(owner.Email, owner.Password)); // sessions
        foreach (var name in new[] { "ci", "deploy", "laptop" })
        {
            (await _api.PostAsync("/api/v1/me/tokens", new { name, scopes = new[] { "read" } }, token)).Expect(HttpStatusCode.Created);
        }

        foreach (var slug in new[] { "second-org", "third-org" })
        {
            (await _api.PostAsync("/api/v1/orgs", new { slug, name = slug }, token)).Expect(HttpStatusCode.Created);
        }

        foreach (var email in new[] { "ann@example.com", "bob@example.com" })
        {
            var member = await _api.SignUpAndLoginAsync(email, verifyEmail: true);
            (await _api.PostAsync($"/api/v1/orgs/{org}/invitations", new { email, role = "developer" }, token)).Expect(HttpStatusCode.Created);
            var invitation = await _api.TokenFromOutboxAsync(email, OutboxKinds.Invitation);
            (await _api.PostAsync("/api/v1/invitations/accept", new { token = invitation }, member.AccessToken)).Expect(HttpStatusCode.OK);
        }

        foreach (var email in new[] { "cy@example.com", "di@example.com", "ed@example.com" })
        {
            (await _api.PostAsync($"/api/v1/orgs/{org}/invitations", new { email, role = "viewer" }, token)).Expect(HttpStatusCode.Created);
        }

        foreach (var project in new[] { "web", "api", "docs" })
        {
            (await _api.PostAsync($"/api/v1/orgs/{org}/projects", new { name = project, git_url = $"https://git.example.test/{project}.git" }, token))
                .Expect(HttpStatusCode.Created);
        }

        foreach (var (environment, name) in new[] { ("production", "A"), ("production", "B"), ("preview", "A") })
        {
            (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/projects/web/env/{environment}/{name}", new { value = "v" }, token)).Expect(HttpStatusCode.OK);
        }

        foreach (var gitRef in new[] { "one", "two", "three" })
        {
            (await _api.PostAsync($"/api/v1/orgs/{org}/projects/web/deployments", new { target = "preview", git_ref = gitRef }, token)).Expect(HttpStatusCode.Created);
        }

        foreach (var name in new[] { "Fleet", "Edge", "Lab" })
        {
            (await _api.PostAsync($"/api/v1/orgs/{org}/licenses", new { tier = "PRO", name }, token)).Expect(HttpStatusCode.Created);
        }

        string[] routes =
        [
            "/api/v1/me/sessions", "/api/v1/me/tokens", "/api/v1/orgs", $"/api/v1/orgs/{org}/members", $"/api/v1/orgs/{org}/invitations",
            $"/api/v1/orgs/{org}/audit", $"/api/v1/orgs/{org}/projects", $"/api/v1/orgs/{org}/projects/web/env",
            $"/api/v1/orgs/{org}/projects/web/deployments", $"/api/v1/orgs/{org}/licenses",
        ];
        foreach (var route in routes)
        {
            // The default limit takes every item here (fewer than 50), on one page.
            var whole = (await _api.GetAsync(route, token)).Expect(HttpStatusCode.OK);
            Assert.True(whole.Items().Count >= 3, $"{route}: {whole}");
            Assert.True(whole.Items().Count < Paging.DefaultLimit, $"{route}: {whole}");
            Assert.Null(whole.NextCursor());
            Assert.Equal(Texts(whole.Items()), Texts((await _api.GetAsync($"{route}?limit={Paging.MaxLimit}", token)).Expect(HttpStatusCode.OK).Items()));

            var walked = new List<JsonNode?>();
            string? cursor = null;
            do
            {
                var page = (await _api.GetAsync($"{route}?limit=2{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}", token)).Expect(HttpStatusCode.OK);
                Assert.True(page.Items().Count <= 2, $"{route}: {page}");
                walked.AddRange(page.Items().Select(item => item?.DeepClone()));
                cursor = page.NextCursor();
            }
            while (cursor is not null);
            Assert.Equal(Texts(whole.Items()), Texts(walked));

            foreach (var (query, field) in new[] { ("limit=0", "limit"), ($"limit={Paging.MaxLimit + 1}", "limit"), ("limit=ten", "limit"), ("cursor=%25%25", "cursor") })
            {
                var refused = (await _api.GetAsync($"{route}?{query}", token)).Expect(HttpStatusCode.BadRequest);
                Assert.True(refused["errors"]?[field] is not null, $"{route}?{query}: {refused}");
            }
        }
    }

    /// <summary>Each item by what identifies it (a deployment's status may move on between two reads; its id does not).</summary>
    private static List<string> Texts(IEnumerable<JsonNode?> items) => [.. items.Select(item =>
    {
        var fields = item!.AsObject();
        foreach (var name in new[] { "id", "sequence", "slug", "userId", "user_id" })
        {
            if (fields.TryGetPropertyValue(name, out var value)) return $"{name}={value!.ToJsonString()}";
        }

        return $"{fields["environment"]?.ToJsonString()}/{fields["name"]!.ToJsonString()}";
    })];

    public ValueTask DisposeAsync() => _api.DisposeAsync();
}
