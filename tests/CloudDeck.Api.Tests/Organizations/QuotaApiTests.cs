using System.Net;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Organizations;

/// <summary>Plan limits over HTTP: 402 and 429 ProblemDetails naming the limit, current value, maximum and reset; the quotas view; plan changes.</summary>
public sealed class QuotaApiTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new(diagnostics: true, settings: new Dictionary<string, string?>
    {
        ["CloudDeck:Plans:Hobby:TeamMembers"] = "1",
        ["CloudDeck:Plans:Hobby:BuildsPerDay"] = "1",
    });

    [Fact]
    public async Task Inviting_past_the_plans_team_members_answers_402_naming_the_limit_until_the_owner_upgrades()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        Assert.Equal("hobby", (await _api.GetAsync("/api/v1/orgs/acme", owner.AccessToken)).Expect(HttpStatusCode.OK).Text("plan"));

        var refused = await _api.PostAsync("/api/v1/orgs/acme/invitations", new { email = "dev@acme.test", role = "developer" }, owner.AccessToken);
        var problem = refused.Expect(HttpStatusCode.PaymentRequired);
        Assert.Equal("application/problem+json", refused.MediaType);
        Assert.Equal("team_members", problem.Text("limit"));
        Assert.Equal(1, problem["current"]!.GetValue<long>());
        Assert.Equal(1, problem["maximum"]!.GetValue<long>());
        Assert.Null(problem["resets_at"]);
        Assert.DoesNotContain("[limit=", problem.Text("detail"), StringComparison.Ordinal);

        (await _api.SendAsync(HttpMethod.Put, "/api/v1/orgs/acme/plan", new { plan = "gold" }, owner.AccessToken)).Expect(HttpStatusCode.BadRequest);
        var upgraded = (await _api.SendAsync(HttpMethod.Put, "/api/v1/orgs/acme/plan", new { plan = "pro" }, owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal("pro", upgraded.Text("plan"));
        (await _api.PostAsync("/api/v1/orgs/acme/invitations", new { email = "dev@acme.test", role = "developer" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task A_build_past_the_days_builds_answers_429_with_retry_after_until_midnight_utc_and_the_quotas_view_shows_it()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        var org = owner.PersonalOrganization;
        (await _api.PostAsync("/_diag/builds", new { org, lines = 1 }, owner.AccessToken)).Expect(HttpStatusCode.Created);

        var refused = await _api.PostAsync("/_diag/builds", new { org, lines = 1 }, owner.AccessToken);
        var problem = refused.Expect(HttpStatusCode.TooManyRequests);
        var now = _api.Clock.GetUtcNow();
        var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        Assert.Equal("builds_per_day", problem.Text("limit"));
        Assert.Equal(1, problem["current"]!.GetValue<long>());
        Assert.Equal(1, problem["maximum"]!.GetValue<long>());
        Assert.Equal(midnight, DateTimeOffset.Parse(problem.Text("resets_at"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(Math.Max(1, Math.Ceiling((midnight - now).TotalSeconds)), refused.RetryAfter!.Value.TotalSeconds);

        var quotas = (await _api.GetAsync($"/api/v1/orgs/{org}/quotas", owner.AccessToken)).Expect(HttpStatusCode.OK);
        Assert.Equal("hobby", quotas.Text("plan"));
        var builds = quotas["limits"]!.AsArray().Single(l => l!.Text("limit") == "builds_per_day")!;
        Assert.Equal("per_day", builds.Text("kind"));
        Assert.Equal(1, builds["current"]!.GetValue<long>());
        Assert.Equal(8, quotas["limits"]!.AsArray().Count);

        _api.Clock.Set(midnight);
        await _api.LoginAsync(owner);
        (await _api.PostAsync("/_diag/builds", new { org, lines = 1 }, owner.AccessToken)).Expect(HttpStatusCode.Created);
    }

    public ValueTask DisposeAsync() => _api.DisposeAsync();
}
