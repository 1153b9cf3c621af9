using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Usage;

namespace CloudDeck.Api.Tests.Usage;

/// <summary>Usage over HTTP: SDK batches with an API token, validation naming the field, the per-token rate limit, and the report.</summary>
public sealed class UsageApiTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new(settings: new Dictionary<string, string?>
    {
        ["CloudDeck:Usage:MaxBatchSize"] = "100",
        ["CloudDeck:Usage:EventsPerSecondPerToken"] = "10",
        ["CloudDeck:Usage:BurstEventsPerToken"] = "250",
    });

    private Account? _owner;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(Account Owner, string Token)> OrganizationWithTokenAsync(string scope = "deploy")
    {
        var owner = await _api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        (await _api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        _owner = owner;
        var token = (await _api.PostAsync("/api/v1/me/tokens", new { name = "sdk", scopes = new[] { scope } }, owner.AccessToken)).Expect(HttpStatusCode.Created).Text("token");
        return (owner, token);
    }

    private static object Event(string id, string kind = "analytics.page_view", long quantity = 1, DateTimeOffset? time = null) =>
        new { id, kind, quantity, time = time?.ToString("O") };

    [Fact]
    public async Task Ingested_events_are_counted_once_per_id_in_totals_and_the_per_day_series()
    {
        var (owner, token) = await OrganizationWithTokenAsync();
        var now = _api.Clock.GetUtcNow();
        var yesterdayInPeriod = now.Day > 1 ? now.AddDays(-1) : now;
        var batch = new
        {
            org = "acme",
            events = new[]
            {
                Event("e-1", UsageKinds.EdgeBytesServed, 1500, now),
                Event("e-2", UsageKinds.EdgeBytesServed, 500, yesterdayInPeriod),
                Event("e-3", "analytics.page_view", 1, now),
            },
        };
        var accepted = (await _api.PostAsync("/api/v1/usage/events", batch, token)).Expect(HttpStatusCode.Accepted);
        Assert.Equal(3, accepted["accepted"]!.GetValue<int>());
        // The SDK did not see the answer and sends the batch again: counted once.
        (await _api.PostAsync("/api/v1/usage/events", batch, token)).Expect(HttpStatusCode.Accepted);

        var period = BillingPeriods.Of(now);
        var report = await ReportWhenAsync(owner, period, r => r["duplicates_ignored"]!.GetValue<long>() == 3);
        Assert.Equal(3, report["events"]!.GetValue<long>() - ApiRequests(report));
        Assert.Equal(2000, report["totals"]![UsageKinds.EdgeBytesServed]!.GetValue<long>());
        Assert.Equal(1, report["totals"]!["analytics.page_view"]!.GetValue<long>());
        Assert.Equal(2, ApiRequests(report)); // each ingest request is metered too
        Assert.Equal(0, report["totals"]![UsageKinds.BuildMinutes]!.GetValue<long>());
        var days = report["days"]!.AsArray();
        Assert.Equal(now.Day, days.Count);
        Assert.Equal($"{period}-01", days[0]!.Text("date"));
        var today = days[^1]!;
        Assert.Equal(BillingPeriods.DayOf(now), today.Text("date"));
        Assert.Equal(now.Day > 1 ? 1500 : 2000, today["totals"]![UsageKinds.EdgeBytesServed]!.GetValue<long>());

        // Another tenant: 404, as if the organization did not exist; a bad period names the field.
        var outsider = await _api.SignUpAndLoginAsync("outsider@elsewhere.test", verifyEmail: true);
        (await _api.GetAsync($"/api/v1/orgs/acme/usage?period={period}", outsider.AccessToken)).Expect(HttpStatusCode.NotFound);
        (await _api.PostAsync("/api/v1/usage/events", new { org = "acme", events = new[] { Event("x-1") } }, outsider.AccessToken)).Expect(HttpStatusCode.NotFound);
        var badPeriod = (await _api.GetAsync("/api/v1/orgs/acme/usage?period=2026-13", owner.AccessToken)).Expect(HttpStatusCode.BadRequest);
        Assert.NotNull(badPeriod["errors"]!["period"]);
    }

    [Fact]
    public async Task Bad_batches_are_refused_with_400_naming_the_field_and_a_read_token_with_403()
    {
        var (_, token) = await OrganizationWithTokenAsync();
        var now = _api.Clock.GetUtcNow();
        async Task<JsonNode> RefusedAsync(object body) => (await _api.PostAsync("/api/v1/usage/events", body, token)).Expect(HttpStatusCode.BadRequest);

        Assert.NotNull((await RefusedAsync(new { org = "acme", events = new[] { Event("ok"), Event("bad", kind: "Not A Kind") } }))["errors"]!["events[1].kind"]);
        Assert.NotNull((await RefusedAsync(new { org = "acme", events = new[] { Event("neg", quantity: -5) } }))["errors"]!["events[0].quantity"]);
        Assert.NotNull((await RefusedAsync(new { org = "acme", events = new[] { Event("") } }))["errors"]!["events[0].id"]);
        Assert.NotNull((await RefusedAsync(new { org = "acme", events = new[] { Event("old", time: now.AddDays(-30)) } }))["errors"]!["events[0].time"]);
        Assert.NotNull((await RefusedAsync(new { org = "acme", events = Array.Empty<object>() }))["errors"]!["events"]);
        Assert.NotNull((await RefusedAsync(new { org = "acme", events = Enumerable.Range(0, 101).Select(i => Event($"n-{i}")).ToArray() }))["errors"]!["events"]);
        Assert.NotNull((await RefusedAsync(new { org = "Not_A_Slug", events = new[] { Event("x") } }))["errors"]!["org"]);
        Assert.NotNull((await RefusedAsync(new { events = new[] { Event("x") } }))["errors"]!["org"]);

        using var huge = new StringContent("{\"org\":\"acme\",\"events\":[" + new string(' ', 600 * 1024) + "]}", Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/usage/events") { Content = huge };
        request.Headers.Authorization = new("Bearer", token);
        var tooLarge = await _api.Http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooLarge.StatusCode);
        Assert.Contains("\"body\"", await tooLarge.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        var (_, readToken) = await SecondTokenAsync("read");
        (await _api.PostAsync("/api/v1/usage/events", new { org = "acme", events = new[] { Event("r-1") } }, readToken)).Expect(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Each_token_has_its_own_bucket_and_an_empty_one_answers_429_with_Retry_After()
    {
        var (_, token) = await OrganizationWithTokenAsync();
        var (_, other) = await SecondTokenAsync("deploy");
        object Batch(string prefix, int count) => new { org = "acme", events = Enumerable.Range(0, count).Select(i => Event($"{prefix}-{i}")).ToArray() };

        // A burst of 250 then 10 a second, on the test clock.
        (await _api.PostAsync("/api/v1/usage/events", Batch("a", 100), token)).Expect(HttpStatusCode.Accepted);
        (await _api.PostAsync("/api/v1/usage/events", Batch("b", 100), token)).Expect(HttpStatusCode.Accepted);
        var limited = await _api.PostAsync("/api/v1/usage/events", Batch("c", 100), token);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        Assert.Equal(TimeSpan.FromSeconds(5), limited.RetryAfter); // 50 left, 100 needed, 10 a second
        Assert.Equal("application/problem+json", limited.MediaType);

        // Another token of the same user is not held back; the first one recovers as the clock moves.
        (await _api.PostAsync("/api/v1/usage/events", Batch("d", 100), other)).Expect(HttpStatusCode.Accepted);
        _api.Clock.Advance(TimeSpan.FromSeconds(5));
        (await _api.PostAsync("/api/v1/usage/events", Batch("c", 100), token)).Expect(HttpStatusCode.Accepted);
    }

    private async Task<(Account Owner, string Token)> SecondTokenAsync(string scope)
    {
        var owner = _owner!;
        var token = (await _api.PostAsync("/api/v1/me/tokens", new { name = $"sdk-{scope}-{Guid.NewGuid():N}", scopes = new[] { scope } }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("token");
        return (owner, token);
    }

    private static long ApiRequests(JsonNode report) => report["totals"]![UsageKinds.ApiRequests]!.GetValue<long>();

    /// <summary>The meter applies the stream's batches as they are delivered: ask until it has (no timing asserted).</summary>
    private async Task<JsonNode> ReportWhenAsync(Account owner, string period, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var report = (await _api.GetAsync($"/api/v1/orgs/acme/usage?period={period}", owner.AccessToken)).Expect(HttpStatusCode.OK);
            if (done(report)) return report;
            Assert.True(DateTime.UtcNow < deadline, $"The meter did not catch up: {report}");
            await Task.Delay(20, Ct);
        }
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
