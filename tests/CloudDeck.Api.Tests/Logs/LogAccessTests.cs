using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Actors.Extensions.Streams;
using CloudDeck.Api.Logs;
using CloudDeck.Api.Tests.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Servers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Logs;

/// <summary>
/// A followed log ends when the follower's access does (issue 22): removed from the organization, API token revoked,
/// logged out. The API runs in this process on Kestrel with a short CloudDeck:Logs:AccessCheckInterval; the followers
/// are the real SignalR JS client (a build's log over the hub) and Server-Sent Events readers (a build's log and a server
/// deployment's runtime log, which never completes on its own). The build writes a line every 50 ms for over an hour, so
/// a follow that ends did not end with its log.
/// </summary>
public sealed class LogAccessTests : IAsyncDisposable
{
    /// <summary>How long a follow may take to end after access did: many check intervals, far less than the build.</summary>
    private static readonly TimeSpan EndWithin = TimeSpan.FromSeconds(60);

    private readonly InProcessApi _api = new(diagnostics: true, settings: new Dictionary<string, string?>
    {
        ["urls"] = "http://127.0.0.1:0",
        ["CloudDeck:Logs:AccessCheckInterval"] = "00:00:00.5",
    });

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public LogAccessTests()
    {
        _api.UseKestrel(0);
        _api.StartServer();
        _api.BaseAddress = BaseAddress = new(_api.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
    }

    private Uri BaseAddress { get; }

    [Fact]
    public async Task A_member_removed_from_the_organization_stops_receiving_build_and_runtime_logs_over_SignalR_and_SSE()
    {
        Need.Component(NodeHarness.MissingReason);
        var (owner, buildId, deploymentId) = await OrganizationWithLogsAsync();
        var member = await _api.SignUpAndLoginAsync("member@example.com", verifyEmail: true);
        (await _api.PostAsync($"/api/v1/orgs/{owner.PersonalOrganization}/invitations", new { email = member.Email, role = "developer" }, owner.AccessToken))
            .Expect(HttpStatusCode.Created);
        var invitation = await _api.TokenFromOutboxAsync(member.Email, OutboxKinds.Invitation);
        (await _api.PostAsync("/api/v1/invitations/accept", new { token = invitation }, member.AccessToken)).Expect(HttpStatusCode.OK);

        var follows = await FollowAsync(member.AccessToken!, buildId, deploymentId);
        var owners = await FollowAsync(owner.AccessToken!, buildId, deploymentId, hub: false);
        (await _api.SendAsync(HttpMethod.Delete, $"/api/v1/orgs/{owner.PersonalOrganization}/members/{member.UserId}", null, owner.AccessToken))
            .Expect(HttpStatusCode.NoContent);

        await follows.AssertEndedAsync($"Build '{buildId}' not found", $"Deployment '{deploymentId}' not found");
        // The owner's own follows of the same logs go on: the end was the member's access, not the logs.
        var before = owners.BuildEvents.Count;
        await WaitUntilAsync(() => owners.BuildEvents.Count > before + 5, "the owner's follow receives lines after the member's ended");
        Assert.False(owners.Build.IsCompleted);
        Assert.False(owners.Runtime.IsCompleted);
    }

    [Fact]
    public async Task Revoking_the_API_token_a_log_is_followed_with_ends_the_follow_over_SignalR_and_SSE()
    {
        Need.Component(NodeHarness.MissingReason);
        var (owner, buildId, deploymentId) = await OrganizationWithLogsAsync();
        var created = (await _api.PostAsync("/api/v1/me/tokens", new { name = "follower", scopes = new[] { "read" } }, owner.AccessToken))
            .Expect(HttpStatusCode.Created);

        var follows = await FollowAsync(created.Text("token"), buildId, deploymentId);
        (await _api.SendAsync(HttpMethod.Delete, $"/api/v1/me/tokens/{created["details"]!.Text("id")}", null, owner.AccessToken))
            .Expect(HttpStatusCode.NoContent);

        await follows.AssertEndedAsync(LogAccess.CredentialEnded, LogAccess.CredentialEnded);
    }

    [Fact]
    public async Task Logging_out_ends_the_follows_of_that_login_over_SignalR_and_SSE_and_its_access_token_cannot_start_another()
    {
        Need.Component(NodeHarness.MissingReason);
        var (owner, buildId, deploymentId) = await OrganizationWithLogsAsync();
        // A second login of the same account, which stays signed in: logging out ends one login, not the account's.
        var other = new Account(owner.Email, owner.Password) { UserId = owner.UserId, PersonalOrganization = owner.PersonalOrganization };
        await _api.LoginAsync(other);

        var follows = await FollowAsync(owner.AccessToken!, buildId, deploymentId);
        var others = await FollowAsync(other.AccessToken!, buildId, deploymentId, hub: false);
        (await _api.PostAsync("/api/v1/auth/logout", new { refresh_token = owner.RefreshToken })).Expect(HttpStatusCode.NoContent);

        await follows.AssertEndedAsync(LogAccess.CredentialEnded, LogAccess.CredentialEnded);
        Assert.False(others.Build.IsCompleted);
        Assert.False(others.Runtime.IsCompleted);
        // The access token itself has not expired, but a new follow needs a live login.
        using var http = new HttpClient { BaseAddress = BaseAddress };
        using var again = await LogClient.GetAsync(http, $"api/v1/builds/{buildId}/logs?follow=true", new LogUser(owner.Email, owner.AccessToken!, owner.PersonalOrganization),
            Cancellation);
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
    }

    /// <summary>
    /// The owner's personal organization with a long, slow synthetic build and a deployment whose runtime log gets a line
    /// every 50 ms (written straight to its stream, as a running server's output is).
    /// </summary>
    private async Task<(Account Owner, string BuildId, string DeploymentId)> OrganizationWithLogsAsync()
    {
        var owner = await _api.SignUpAndLoginAsync("owner@example.com", verifyEmail: true);
        var org = owner.PersonalOrganization;
        var started = (await _api.PostAsync("/_diag/builds", new { org, lines = 100_000, lines_per_second = 20, line_bytes = 40 }, owner.AccessToken))
            .Expect(HttpStatusCode.Created);

        (await _api.PostAsync($"/api/v1/orgs/{org}/projects", new { name = "web" }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var page = "<h1>hello</h1>"u8.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(page));
        var content = new ByteArrayContent(page);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        (await _api.SendAsync(HttpMethod.Put, $"/api/v1/orgs/{org}/files/{sha}", content, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var deployment = (await _api.PostAsync($"/api/v1/orgs/{org}/projects/web/deployments",
            new { target = "preview", files = new[] { new { path = "index.html", sha256 = sha, size = page.Length } } }, owner.AccessToken)).Expect(HttpStatusCode.Created);
        var deploymentId = deployment.Text("id");
        var runtime = _api.Services.GetRequiredService<ILogStreamProvider>().GetStream<BuildLogLine>(RuntimeLogs.Namespace, deploymentId);
        _ = Task.Run(async () =>
        {
            try
            {
                for (var n = 1; !_stop.IsCancellationRequested; n++)
                {
                    await runtime.AppendAsync(new BuildLogLine(DateTimeOffset.UtcNow, BuildLogStreams.Stdout, $"request {n}"));
                    await Task.Delay(50, _stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, Cancellation);
        return (owner, started.Text("id"), deploymentId);
    }

    /// <summary>Follows the build's log over the hub (node) and SSE, and the deployment's runtime log over SSE, until each has received a line.</summary>
    private async Task<Follows> FollowAsync(string token, string buildId, string deploymentId, bool hub = true)
    {
        var user = new LogUser("", token, "");
        var follows = new Follows(
            hub ? FollowWithNodeAsync(token, buildId) : null,
            ReadSseAsync($"api/v1/builds/{buildId}/logs?follow=true", user, out var buildEvents),
            ReadSseAsync($"api/v1/deployments/{deploymentId}/logs/runtime?follow=true", user, out var runtimeEvents),
            buildEvents, runtimeEvents, _api);
        await WaitUntilAsync(() => buildEvents.Count > 0 && runtimeEvents.Count > 0, "both SSE follows receive lines");
        if (hub)
        {
            var followers = _api.Services.GetRequiredService<BuildLogFollowers>();
            await WaitUntilAsync(() => followers.Count > 0, "the hub follows the build for the node client");
        }

        return follows;
    }

    private Task<NodeRun> FollowWithNodeAsync(string token, string buildId)
    {
        var output = Path.Combine(_api.DataDirectory, $"follow-{Guid.NewGuid():N}.json");
        return Task.Run(async () =>
        {
            var run = await NodeHarness.RunAsync("follow-build.mjs",
                [BaseAddress.ToString(), token, buildId, "--transport", "websockets", "--out", output, "--timeout", ((int)EndWithin.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)],
                EndWithin + TimeSpan.FromSeconds(30), Cancellation);
            return run with { Output = File.Exists(output) ? await File.ReadAllTextAsync(output) : run.Output };
        });
    }

    /// <summary>Reads the events of a followed log until the response ends (or the test gives up): the task ends with the response.</summary>
    private Task<bool> ReadSseAsync(string path, LogUser user, out List<ServerSentEvent> events)
    {
        var received = events = [];
        return Task.Run(async () =>
        {
            using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
            using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Cancellation, _stop.Token);
            giveUp.CancelAfter(EndWithin + TimeSpan.FromSeconds(30));
            using var response = await LogClient.GetAsync(http, path, user, giveUp.Token, completion: HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            try
            {
                await foreach (var message in LogClient.ReadEventsAsync(response, giveUp.Token))
                {
                    lock (received) received.Add(message);
                }
            }
            catch (OperationCanceledException)
            {
                return false; // still open: it did not end
            }

            return true;
        });
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + EndWithin;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Waited {EndWithin} for: {what}");
            await Task.Delay(50, Cancellation);
        }
    }

    /// <summary>Stops the runtime log's writer and the follows still open when the test ends.</summary>
    private readonly CancellationTokenSource _stop = new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _api.DisposeAsync();
        _stop.Dispose();
    }

    private sealed record Follows(Task<NodeRun>? Hub, Task<bool> Build, Task<bool> Runtime, List<ServerSentEvent> BuildEvents, List<ServerSentEvent> RuntimeEvents,
        InProcessApi Api)
    {
        /// <summary>Every follow ended, each with an error event or message saying why, and no line came after it.</summary>
        public async Task AssertEndedAsync(string buildReason, string runtimeReason)
        {
            Assert.True(await Build, "the SSE follow of the build's log ended");
            Assert.True(await Runtime, "the SSE follow of the runtime log ended");
            AssertEndedWithError(BuildEvents, buildReason);
            AssertEndedWithError(RuntimeEvents, runtimeReason);
            if (Hub is null) return;
            var run = await Hub;
            Assert.True(run.ExitCode == 3, $"node follow-build.mjs should end on the server's error message (exit 3), exited {run.ExitCode}: {run.Output}");
            var result = JsonNode.Parse(run.Output)!;
            Assert.Contains(buildReason, result["ended"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.NotEmpty(result["lines"]!.AsArray());
            Assert.Null(result["completed"]);
            var followers = Api.Services.GetRequiredService<BuildLogFollowers>();
            await WaitUntilAsync(() => followers.Count == 0, "the hub stopped following");
        }

        private static void AssertEndedWithError(List<ServerSentEvent> events, string reason)
        {
            ServerSentEvent[] all;
            lock (events) all = [.. events];
            Assert.Contains(all, e => e.Event == BuildLogMessageNames.Line);
            Assert.Equal(BuildLogMessageNames.Error, all[^1].Event);
            Assert.Contains(reason, all[^1].Json["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }
}
