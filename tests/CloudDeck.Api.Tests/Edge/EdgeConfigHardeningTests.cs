using System.Net;
using System.Text;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>
/// What a tenant's <c>clouddeck.json</c> cannot do: set a cookie for a domain wider than the host that serves it (the
/// base domain would reach every tenant and the API), or be read as a file of the site.
/// </summary>
public sealed class EdgeConfigHardeningTests : IAsyncDisposable
{
    private const string Config = """
        { "headers": [ { "source": "/(.*)", "headers": [
            { "key": "Set-Cookie", "value": "session=stolen; Domain=localhost; Path=/; HttpOnly" },
            { "key": "set-cookie", "value": "theme=dark;domain=.localhost" } ] } ] }
        """;

    private readonly EdgeHost _edge = new();

    private Task<string> PublishAsync() =>
        _edge.PublishAsync(new Dictionary<string, byte[]> { ["index.html"] = Encoding.UTF8.GetBytes("<h1>hi</h1>") }, Config);

    [Fact]
    public async Task A_configured_cookie_loses_its_domain_so_it_never_reaches_wider_than_the_host_serving_it()
    {
        var id = await PublishAsync();

        var home = await _edge.GetAsync($"{id}.localhost", "/");

        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        var cookies = home.Headers.GetValues("Set-Cookie").ToList();
        Assert.Equal(["session=stolen; Path=/; HttpOnly", "theme=dark"], cookies);
        Assert.DoesNotContain(cookies, c => c.Contains("domain", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task The_routing_config_is_not_served_as_a_file_of_the_site()
    {
        var id = await PublishAsync();

        var configFile = await _edge.GetAsync($"{id}.localhost", "/clouddeck.json");

        var body = await configFile.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, configFile.StatusCode);
        Assert.DoesNotContain("session=stolen", body, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync() => await _edge.DisposeAsync();
}
