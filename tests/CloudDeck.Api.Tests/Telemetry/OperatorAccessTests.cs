using System.Net;
using System.Net.Http.Headers;
using CloudDeck.Api.Tests.Accounts;

namespace CloudDeck.Api.Tests.Telemetry;

/// <summary>
/// The platform-operator role (configured emails, or a fresh install's first account) and what it opens: /metrics on the
/// public port and the Orleans dashboard. An organization's owner is not an operator by being one.
/// </summary>
public sealed class OperatorAccessTests
{
    private const string MetricsToken = "operator-test-metrics-token-0123456789";
    private const string OperatorEmail = "ops@platform.test";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_on_the_public_port_are_refused_without_a_credential_and_served_for_the_metrics_token_or_an_operator()
    {
        await using var api = new InProcessApi(settings: new Dictionary<string, string?>
        {
            ["CloudDeck:Management:MetricsToken"] = MetricsToken,
            ["CloudDeck:Operators:Emails:0"] = OperatorEmail,
        });
        var owner = await api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        var unverifiedOperator = await api.SignUpAndLoginAsync(OperatorEmail);

        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/metrics")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, await MetricsStatusAsync(api, "not-the-token"));
        // The owner of an organization, and the operator's address before it is verified, are not operators.
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/metrics", owner.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/metrics", unverifiedOperator.AccessToken)).Status);

        Assert.Equal(HttpStatusCode.OK, await MetricsStatusAsync(api, MetricsToken));
        await api.VerifyEmailAsync(unverifiedOperator);
        await api.LoginAsync(unverifiedOperator);
        var scraped = await api.GetAsync("/metrics", unverifiedOperator.AccessToken);
        Assert.Equal(HttpStatusCode.OK, scraped.Status);
        Assert.Equal("text/plain", scraped.MediaType);
        // Orleans' meters are process-wide. ASP.NET Core's are per host, and with other tests' hosts in this process the
        // exporter may leave a series out when instruments of the same name collide: PrometheusScrapeTests checks the
        // HTTP series on an API process of its own.
        Assert.Contains("orleans_", scraped.Body, StringComparison.Ordinal);
        Assert.Contains("# TYPE ", scraped.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Orleans_dashboard_is_refused_to_an_organization_owner_and_shown_to_an_operator()
    {
        await using var api = new InProcessApi(settings: new Dictionary<string, string?> { ["CloudDeck:Operators:Emails:0"] = OperatorEmail });
        var owner = await api.SignUpAndLoginAsync("owner@acme.test", verifyEmail: true);
        (await api.PostAsync("/api/v1/orgs", new { slug = "acme", name = "Acme" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var platformOperator = await api.SignUpAndLoginAsync(OperatorEmail, verifyEmail: true);

        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/_operator/dashboard/")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/_operator/dashboard/", owner.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/_operator/dashboard/ClusterStats", owner.AccessToken)).Status);

        var page = await api.GetAsync("/_operator/dashboard/", platformOperator.AccessToken);
        Assert.Equal(HttpStatusCode.OK, page.Status);
        Assert.Equal("text/html", page.MediaType);
        Assert.Contains("Orleans", page.Body, StringComparison.OrdinalIgnoreCase);
        var silos = await api.GetAsync("/_operator/dashboard/ClusterStats", platformOperator.AccessToken);
        Assert.Equal(HttpStatusCode.OK, silos.Status);
        Assert.Contains("\"periodKey\"", silos.Body, StringComparison.Ordinal);
        // Stored grain state (hashes, encrypted secrets) stays hidden from operators too.
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/_operator/dashboard/GrainState?grainId=x&grainType=y", platformOperator.AccessToken)).Status);
    }

    [Fact]
    public async Task A_fresh_embedded_install_makes_its_first_account_the_operator_and_no_later_one()
    {
        await using var api = new InProcessApi();
        var first = await api.SignUpAndLoginAsync("first@example.test");
        var second = await api.SignUpAndLoginAsync("second@example.test", verifyEmail: true);

        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/_operator/dashboard/", first.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/_operator/dashboard/", second.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/metrics", first.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/metrics", second.AccessToken)).Status);
    }

    [Fact]
    public async Task A_restarted_install_keeps_its_first_account_as_operator_and_gives_the_role_to_no_later_account()
    {
        var api = new InProcessApi();
        await api.SignUpAndLoginAsync("first@example.test");
        await api.DisposeAsync(keepData: true);

        await using var again = new InProcessApi(api.DataDirectory);
        var later = await again.SignUpAndLoginAsync("later@example.test", verifyEmail: true);
        var first = new Account("first@example.test", InProcessApi.Password);
        await again.LoginAsync(first);

        Assert.Equal(HttpStatusCode.NotFound, (await again.GetAsync("/_operator/dashboard/", later.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/_operator/dashboard/", first.AccessToken)).Status);
    }

    [Fact]
    public async Task An_install_that_had_data_before_its_first_account_gives_the_operator_role_to_no_one()
    {
        // First started with configured operators (so no first-account slot), then without: it is not fresh any more.
        var api = new InProcessApi(settings: new Dictionary<string, string?> { ["CloudDeck:Operators:Emails:0"] = OperatorEmail });
        await api.SignUpAndLoginAsync("early@example.test");
        await api.DisposeAsync(keepData: true);

        await using var again = new InProcessApi(api.DataDirectory);
        var later = await again.SignUpAndLoginAsync("later@example.test", verifyEmail: true);

        Assert.Equal(HttpStatusCode.NotFound, (await again.GetAsync("/_operator/dashboard/", later.AccessToken)).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await again.GetAsync("/metrics", later.AccessToken)).Status);
    }

    private static async Task<HttpStatusCode> MetricsStatusAsync(InProcessApi api, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await api.Http.SendAsync(request, Cancellation);
        return response.StatusCode;
    }
}
