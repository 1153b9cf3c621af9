using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using CloudDeck.Api.Tests;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests.Frameworks;

/// <summary>
/// What the framework acceptance tests share: a real API process whose servers restart fast, a framework app installed
/// from the npm registry and deployed with <c>deck deploy --prod</c>, its build log, and the checks that a page is
/// rendered per request and that a fingerprinted file is answered by the edge itself.
/// </summary>
public abstract partial class FrameworkDeployTest : DeckProcessTest
{
    protected static readonly Dictionary<string, string?> Settings = new()
    {
        ["CloudDeck__Projects__AllowLocalSources"] = "true",
        ["CloudDeck__Servers__HealthCheckTimeout"] = "00:00:30",
        ["CloudDeck__Servers__DrainGrace"] = "00:00:01",
        ["CloudDeck__Servers__StopGrace"] = "00:00:02",
        ["CloudDeck__Servers__MonitorInterval"] = "00:00:00.100",
    };

    protected FrameworkDeployTest() => Need.Component(NodeHarness.MissingReason);

    internal static string Url(ApiHost api) => api.BaseAddress.ToString();

    /// <summary>Installs the app (its lockfile), links it to a new project and runs <c>deck deploy --prod</c>; the production host and build log.</summary>
    internal async Task<(string Host, string Log)> DeployWithDeckAsync(ApiHost api, DeckUser user, string directory, string project)
    {
        await FrameworkApps.InstallAsync(directory, Cancellation);
        (await Deck(["init", "--api", Url(api), "--org", user.Organization, "--name", project], directory)).Expect(0);
        var deploy = await Deck(["deploy", "--prod", "--api", Url(api)], directory);
        var log = await BuildLogAsync(api, user, deploy);
        Assert.True(deploy.ExitCode == 0, $"{deploy.Describe()}\nbuild log:\n{log}");
        return ($"{project}-{user.Organization}.localhost:{api.BaseAddress.Port}", log);
    }

    /// <summary>GETs <paramref name="path"/> twice: both 200 with <paramref name="heading"/>, rendered apart ("at …" differs). The first page, without React's text separators.</summary>
    internal static async Task<string> RenderedPerRequestAsync(ApiHost api, string host, string heading, string path = "/")
    {
        using var first = await ServerAppTests.SendAsync(api, host, HttpMethod.Get, path);
        using var second = await ServerAppTests.SendAsync(api, host, HttpMethod.Get, path);
        var page = (await first.Content.ReadAsStringAsync(Cancellation)).Replace("<!-- -->", "", StringComparison.Ordinal);
        var again = (await second.Content.ReadAsStringAsync(Cancellation)).Replace("<!-- -->", "", StringComparison.Ordinal);
        Assert.True(first.StatusCode == HttpStatusCode.OK && second.StatusCode == HttpStatusCode.OK, $"{first.StatusCode}, {second.StatusCode}:\n{page}");
        Assert.Contains(heading, page, StringComparison.Ordinal);
        Assert.True(RenderedAt().IsMatch(page) && RenderedAt().IsMatch(again), $"the page names when it was rendered:\n{page}");
        Assert.NotEqual(RenderedAt().Match(page).Value, RenderedAt().Match(again).Value);
        return page;
    }

    /// <summary>200 with a year's immutable caching and the artifact store's ETag (its content hash): the edge answered, not the app.</summary>
    internal static async Task AssertServedByTheEdgeAsync(ApiHost api, string host, string path, string prefix)
    {
        Assert.StartsWith(prefix, path, StringComparison.Ordinal);
        using var response = await ServerAppTests.SendAsync(api, host, HttpMethod.Get, path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
        var body = await response.Content.ReadAsByteArrayAsync(Cancellation);
        Assert.Equal($"\"{Convert.ToHexStringLower(SHA256.HashData(body))[..32]}\"", response.Headers.ETag?.Tag);
    }

    /// <summary>The first match of <paramref name="pattern"/> in <paramref name="page"/>, made absolute; fails naming the page when there is none.</summary>
    internal static string AssetIn(string page, string pattern)
    {
        var match = Regex.Match(page, pattern);
        Assert.True(match.Success, $"no {pattern} in the page:\n{page}");
        return match.Value.StartsWith('/') ? match.Value : "/" + match.Value.TrimStart('.', '/');
    }

    internal static async Task<string> BuildLogAsync(ApiHost api, DeckUser user, DeckRun deploy)
    {
        var id = DeploymentUrlLine().Match(deploy.Output).Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(id), $"deck printed no deployment id:\n{deploy.Output}");
        using var http = Authorized(api, user);
        var deployment = await ExpectAsync(await http.GetAsync($"api/v1/deployments/{id}", Cancellation), HttpStatusCode.OK);
        return await http.GetStringAsync($"api/v1/builds/{deployment["build_id"]!.GetValue<string>()}/logs", Cancellation);
    }

    internal static HttpClient Authorized(ApiHost api, DeckUser user)
    {
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        return http;
    }

    [GeneratedRegex(@"at \d+-0\.\d+")]
    private static partial Regex RenderedAt();

    [GeneratedRegex(@"(?:deployment |https?://)([0-9a-f]{16})[ .]")]
    private static partial Regex DeploymentUrlLine();
}
