using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Actors.Extensions.Streams;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Servers;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Logs;

/// <summary><c>GET …/logs/runtime?tail=N</c>: the end of a server's log (what the dashboard's deployment page shows), and a bad N.</summary>
public sealed class RuntimeLogTailTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Tail_answers_the_last_n_lines_in_order_and_a_tail_that_is_not_1_to_10000_is_a_400_naming_tail()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@example.com", verifyEmail: true);
        var org = owner.PersonalOrganization;
        (await _api.PostAsync($"/api/v1/orgs/{org}/projects", new { name = "web" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var page = "<h1>tail</h1>"u8.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(page));
        var content = new ByteArrayContent(page);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{sha}", content, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var deploymentId = (await _api.PostAsync($"/api/v1/orgs/{org}/projects/web/deployments",
            new { target = "preview", files = new[] { new { path = "index.html", sha256 = sha, size = page.Length } } }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("id");
        // Written straight to the deployment's runtime stream, as a running server's output is.
        var runtime = _api.Services.GetRequiredService<ILogStreamProvider>().GetStream<BuildLogLine>(RuntimeLogs.Namespace, deploymentId);
        for (var n = 1; n <= 30; n++) await runtime.AppendAsync(new BuildLogLine(DateTimeOffset.UtcNow, BuildLogStreams.Stdout, $"request {n}"));

        Assert.Equal(Enumerable.Range(26, 5).Select(n => $"request {n}"), await LinesAsync($"?tail=5"));
        Assert.Equal(30, (await LinesAsync("?tail=10000")).Length);
        Assert.Equal(30, (await LinesAsync("")).Length);
        foreach (var bad in new[] { "0", "10001", "-1", "five", "1.5" })
        {
            var refused = (await _api.GetAsync($"/api/v1/deployments/{deploymentId}/logs/runtime?tail={bad}", owner.AccessToken)).Expect(HttpStatusCode.BadRequest);
            Assert.NotNull(refused["errors"]?["tail"]);
        }

        async Task<string[]> LinesAsync(string query)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/deployments/{deploymentId}/logs/runtime{query}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", owner.AccessToken);
            using var response = await _api.Http.SendAsync(request, Cancellation);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadAsStringAsync(Cancellation)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    public ValueTask DisposeAsync() => _api.DisposeAsync();
}
