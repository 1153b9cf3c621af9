using System.Net;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>The edge in the real API process: settings are checked at start, and Kestrel routes by Host.</summary>
public sealed class EdgeProcessTests : ProcessTest
{
    [Theory]
    [InlineData("CloudDeck__Edge__BaseDomain", "not a domain!", "CloudDeck:Edge:BaseDomain")]
    [InlineData("CloudDeck__Edge__ApiHosts__0", "api:8080", "CloudDeck:Edge:ApiHosts")]
    [InlineData("CloudDeck__Edge__MaxMemoryFileBytes", "-1", "CloudDeck:Edge:MaxMemoryFileBytes")]
    [InlineData("CloudDeck__Edge__ManifestCacheSize", "0", "CloudDeck:Edge:ManifestCacheSize")]
    [InlineData("CloudDeck__Edge__ProxyTimeout", "00:00:00", "CloudDeck:Edge:ProxyTimeout")]
    [InlineData("CloudDeck__Edge__NegativeCacheTtl", "-00:00:01", "CloudDeck:Edge:NegativeCacheTtl")]
    [InlineData("CloudDeck__Edge__NegativeCacheSize", "0", "CloudDeck:Edge:NegativeCacheSize")]
    [InlineData("CloudDeck__Edge__MemoryCacheBytes", "0", "CloudDeck:Edge:MemoryCacheBytes")]
    [InlineData("CloudDeck__Artifacts__MaxFileBytes", "0", "CloudDeck:Artifacts:MaxFileBytes")]
    [InlineData("CloudDeck__Artifacts__MaxFileBytes", "lots", "CloudDeck:Artifacts")]
    public async Task A_wrong_edge_or_artifact_setting_fails_on_start_naming_the_setting(string variable, string value, string setting)
    {
        var process = Track(ApiHost.Launch(ChildProcess.FreeTcpPort(), DataDirectory, new Dictionary<string, string?> { [variable] = value }));

        Assert.True(await process.WaitForExitAsync(ApiHost.StartTimeout, Cancellation), $"A wrong {setting} should stop the host.\n{ApiHost.Describe(process)}");
        Assert.True(process.ExitCode == 1, $"A misconfigured host should exit 1, not crash.\n{ApiHost.Describe(process)}");
        Assert.Contains(setting, process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_host_under_the_base_domain_gets_the_404_page_from_kestrel()
    {
        var api = await StartApiAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Host = "nobody-home.localhost";

        using var response = await api.Http.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("nobody-home.localhost", await response.Content.ReadAsStringAsync(Cancellation));
        using var health = await api.Http.GetAsync("/healthz", Cancellation);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.True(Directory.Exists(Path.Combine(DataDirectory, "artifacts")), "The store's directory is made at start, under the data directory.");
    }

    [Fact]
    public async Task An_invalid_punycode_host_is_a_400_and_logged_once_an_interval()
    {
        // Hosting's own request log reads the Host too, before any middleware: on here, as an operator may set it.
        var api = await StartApiAsync(new Dictionary<string, string?> { ["Logging__LogLevel__Microsoft.AspNetCore"] = "Information" });
        for (var i = 0; i < 5; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Host = "xn--web-alice-.localhost";

            using var response = await api.Http.SendAsync(request, Cancellation);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("\"host\"", await response.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        }

        using var health = await api.Http.GetAsync("/healthz", Cancellation);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var output = api.Process.Output;
        Assert.True(output.Split('\n').Count(l => l.Contains("xn--web-alice-.localhost", StringComparison.Ordinal)) <= 1,
            $"An invalid host should be logged at most once an interval:\n{output}");
    }
}
