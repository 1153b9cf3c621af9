using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace CloudDeck.Api.Tests.Telemetry;

/// <summary>
/// A real Prometheus scrapes the real API process (its public port, with the metrics token) and a real silo process (its
/// management port) while a deploy happens; what it stored is read back with PromQL through its HTTP API.
/// </summary>
public sealed class PrometheusScrapeTests : ProcessTest
{
    private const string MetricsToken = "test-metrics-token-0123456789abcdef";
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task Prometheus_scrapes_the_API_and_a_silo_and_after_a_deploy_has_the_build_and_edge_request_counters()
    {
        Need.Component(Requirement.Check(PrometheusServer.Binary is not null, "prometheus", "apt-get install prometheus"));
        var api = await StartApiAsync(new Dictionary<string, string?> { ["CloudDeck__Management__MetricsToken"] = MetricsToken });
        var silo = Track(await SiloHost.StartAsync(Cancellation));

        // Refused on the public port without the token: never open there.
        using (var anonymous = await api.Http.GetAsync("/metrics", Cancellation))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        await using var prometheus = await PrometheusServer.StartAsync(
        [
            new PrometheusServer.Job("api", $"127.0.0.1:{api.BaseAddress.Port}", MetricsToken),
            new PrometheusServer.Job("silo", $"127.0.0.1:{silo.ManagementPort}"),
        ], Cancellation);

        var host = await DeployOneFileAsync(api.Http, "<h1>scraped</h1>");
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Host = host;
            using var page = await api.Http.SendAsync(request, Cancellation);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }

        // One build succeeded; three requests served, the first read the file from the store, the others from memory.
        await WaitForAsync(prometheus, "sum(clouddeck_builds_completed_total{job=\"api\",outcome=\"succeeded\"})", 1);
        await WaitForAsync(prometheus, "sum(clouddeck_edge_requests_total{job=\"api\",status_class=\"2xx\"})", 3);
        await WaitForAsync(prometheus, "sum(clouddeck_edge_requests_total{job=\"api\",status_class=\"2xx\",cache=\"miss\"})", 1);
        await WaitForAsync(prometheus, "sum(clouddeck_deployments_created_total{job=\"api\",source=\"upload\"})", 1);
        await WaitForAsync(prometheus, "sum(clouddeck_build_duration_seconds_count{job=\"api\",outcome=\"succeeded\"})", 1);
        // The silo's management port is scraped too, and its Orleans meter is there.
        await WaitForAsync(prometheus, "up{job=\"silo\"}", 1);
        var siloSeries = await prometheus.QueryAsync("orleans_catalog_activations{job=\"silo\"}", Cancellation);
        Assert.True(siloSeries.Count > 0, $"The silo's Orleans metrics should be scraped:\n{await prometheus.DescribeTargetsAsync(Cancellation)}");
    }

    private static async Task WaitForAsync(PrometheusServer prometheus, string promql, double expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var last = "no series";
        while (DateTime.UtcNow < deadline)
        {
            var series = await prometheus.QueryAsync(promql, Cancellation);
            if (series.Count == 1 && series[0].Value == expected) return;
            last = series.Count == 0 ? "no series" : string.Join(", ", series.Select(s => s.Value.ToString(CultureInfo.InvariantCulture)));
            await Task.Delay(500, Cancellation);
        }

        Assert.Fail($"{promql} should be {expected}; Prometheus answered {last}.\n{await prometheus.DescribeTargetsAsync(Cancellation)}");
    }

    /// <summary>Signs up, creates a project, uploads one file, deploys it to production and waits until it is ready; answers the production host.</summary>
    internal static async Task<string> DeployOneFileAsync(HttpClient http, string html)
    {
        var email = $"deployer{Guid.NewGuid():N}@example.test";
        await CallAsync(http, HttpMethod.Post, "/api/v1/auth/signup", new { email, password = Password });
        var login = await CallAsync(http, HttpMethod.Post, "/api/v1/auth/login", new { email, password = Password });
        var token = login["access_token"]!.GetValue<string>();
        // Sign-up answers alike for new and registered addresses: the personal organization is read from the account.
        var org = (await CallAsync(http, HttpMethod.Get, "/api/v1/me", null, token))["organizations"]![0]!["slug"]!.GetValue<string>();
        await CallAsync(http, HttpMethod.Post, $"/api/v1/orgs/{org}/projects", new { name = "web" }, token);

        var bytes = System.Text.Encoding.UTF8.GetBytes(html);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        using (var upload = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{sha}") { Content = new ByteArrayContent(bytes) })
        {
            upload.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            upload.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var stored = await http.SendAsync(upload, Cancellation);
            Assert.True(stored.IsSuccessStatusCode, $"upload answered {(int)stored.StatusCode}: {await stored.Content.ReadAsStringAsync(Cancellation)}");
        }

        var deployment = await CallAsync(http, HttpMethod.Post, $"/api/v1/orgs/{org}/projects/web/deployments",
            new { target = "production", files = new[] { new { path = "index.html", sha256 = sha, size = bytes.Length } } }, token);
        var id = deployment["id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string status;
        do
        {
            status = (await CallAsync(http, HttpMethod.Get, $"/api/v1/deployments/{id}", null, token))["status"]!.GetValue<string>();
            if (status == "ready") break;
            await Task.Delay(100, Cancellation);
        }
        while (status == "building" && DateTime.UtcNow < deadline);

        Assert.Equal("ready", status);
        return (await CallAsync(http, HttpMethod.Get, $"/api/v1/orgs/{org}/projects/web", null, token))["production_host"]!.GetValue<string>();
    }

    private static async Task<JsonNode> CallAsync(HttpClient http, HttpMethod method, string path, object? body, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, Cancellation);
        var text = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }
}
