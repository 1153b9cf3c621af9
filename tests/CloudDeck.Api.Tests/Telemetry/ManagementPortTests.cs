using System.Net;
using System.Net.Http.Headers;

namespace CloudDeck.Api.Tests.Telemetry;

/// <summary>The management port (CloudDeck:Management:Port) of the silo host and of the API: three endpoints and nothing else.</summary>
public sealed class ManagementPortTests : ProcessTest
{
    private const string MetricsToken = "management-port-token-0123456789abcdef";

    [Fact]
    public async Task The_silo_hosts_management_port_answers_health_readiness_and_metrics_with_the_token_and_nothing_else()
    {
        var silo = Track(await SiloHost.StartAsync(Cancellation, new Dictionary<string, string?> { ["CloudDeck__Management__MetricsToken"] = MetricsToken }));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{silo.ManagementPort}/") };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz", Cancellation)).StatusCode);
        var ready = await http.GetStringAsync("readyz", Cancellation);
        Assert.Contains("\"storage\":{\"status\":\"healthy\"", ready, StringComparison.Ordinal);
        Assert.Contains("\"cluster\":{\"status\":\"healthy\"", ready, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("metrics", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/v1/me", Cancellation)).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "metrics");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken);
        using var metrics = await http.SendAsync(request, Cancellation);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("orleans_", await metrics.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_APIs_management_port_serves_metrics_without_a_credential_and_neither_the_API_nor_the_edge()
    {
        var port = ChildProcess.FreeTcpPort();
        var api = await StartApiAsync(new Dictionary<string, string?>
        {
            ["CloudDeck__Management__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["CloudDeck__Management__ListenAddress"] = "127.0.0.1",
        });
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        var metrics = await management.GetAsync("metrics", Cancellation);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("clouddeck_builds_running", await metrics.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("readyz", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("openapi/v1.json", Cancellation)).StatusCode);
        using var edge = new HttpRequestMessage(HttpMethod.Get, "/");
        edge.Headers.Host = "web-someone.localhost";
        var edgeAnswer = await management.SendAsync(edge, Cancellation);
        Assert.Equal(HttpStatusCode.NotFound, edgeAnswer.StatusCode);
        Assert.Equal("application/problem+json", edgeAnswer.Content.Headers.ContentType?.MediaType);
        // The public port still refuses /metrics without a credential.
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Http.GetAsync("/metrics", Cancellation)).StatusCode);
    }
}
