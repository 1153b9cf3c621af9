using System.Net;
using CloudDeck.Api.Logs;
using CloudDeck.Api.Tests.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Api.Tests.Logs;

/// <summary>
/// The log endpoints and hub in-process (the real Program on a test server): bad input gets 400 naming what was wrong,
/// a token in the query string works on hub paths only and never reaches a log, and a hub connection's subscriptions
/// end when it leaves a build or closes.
/// </summary>
public sealed class BuildLogRequestTests : IAsyncDisposable
{
    private readonly InProcessApi _api = new(diagnostics: true, settings: new Dictionary<string, string?>
    {
        ["CloudDeck:Logs:HeartbeatInterval"] = "00:00:00.2",
        ["CloudDeck:Logs:MaxBuildsPerConnection"] = "2",
    });

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bad_ids_positions_and_synthetic_build_requests_get_400_naming_the_field()
    {
        var owner = await _api.SignUpAndLoginAsync("olive@example.com");
        var build = (await _api.PostAsync("/_diag/builds", new { org = owner.PersonalOrganization, lines = 3 }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("id");
        await WaitUntilFinishedAsync(build, owner);

        await ExpectFieldProblemAsync(await _api.GetAsync("/api/v1/builds/NOT-A-BUILD/logs", owner.AccessToken), "id", "16 lower-case hex digits");
        await ExpectFieldProblemAsync(await _api.GetAsync("/api/v1/builds/NOT-A-BUILD", owner.AccessToken), "id", "16 lower-case hex digits");
        await ExpectFieldProblemAsync(await _api.GetAsync($"/api/v1/builds/{build}/logs?follow=maybe", owner.AccessToken), "follow", "true or false");
        await ExpectFieldProblemAsync(await FollowAsync(build, owner, lastEventId: "line-7"), "Last-Event-ID", "line number");
        await ExpectFieldProblemAsync(await FollowAsync(build, owner, lastEventId: "9"), "Last-Event-ID", "beyond the end of the log, which has 3 lines");

        foreach (var (body, field) in new (object Body, string Field)[]
                 {
                     (new { lines = 3 }, "org"),
                     (new { org = "Not A Slug" }, "org"),
                     (new { org = owner.PersonalOrganization, lines = -1 }, "lines"),
                     (new { org = owner.PersonalOrganization, lines = "many" }, "lines"),
                     (new { org = owner.PersonalOrganization, line_bytes = 1 }, "line_bytes"),
                     (new { org = owner.PersonalOrganization, lines_per_second = -5 }, "lines_per_second"),
                     (new { org = owner.PersonalOrganization, status = "building" }, "status"),
                     (new { org = owner.PersonalOrganization, lines = 1_000_000, line_bytes = 1_000_000 }, "lines"),
                 })
        {
            await ExpectFieldProblemAsync(await _api.PostAsync("/_diag/builds", body, owner.AccessToken), field, "");
        }

        // An organization the caller is not in does not exist for them.
        (await _api.PostAsync("/_diag/builds", new { org = "somebody-else" }, owner.AccessToken)).Expect(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_token_in_the_query_string_authenticates_hub_requests_only_and_never_reaches_a_log()
    {
        var user = await _api.SignUpAndLoginAsync("quinn@example.com");
        var token = user.AccessToken!;

        var negotiated = await _api.PostAsync($"/hubs/logs/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(token)}");
        Assert.False(string.IsNullOrEmpty(negotiated.Expect(HttpStatusCode.OK).Text("connectionToken")));
        (await _api.PostAsync("/hubs/logs/negotiate?negotiateVersion=1&access_token=not-a-token")).Expect(HttpStatusCode.Unauthorized);
        // Elsewhere a token in the URL is ignored: it would land in proxies' logs and browser history.
        (await _api.GetAsync($"/api/v1/me?access_token={Uri.EscapeDataString(token)}")).Expect(HttpStatusCode.Unauthorized);

        var lines = _api.Logs.Lines;
        var leaks = lines.Where(line => line.Contains(token, StringComparison.Ordinal) || line.Contains(token[..40], StringComparison.Ordinal)).ToList();
        Assert.True(leaks.Count == 0, "The access token appeared in the log:\n" + string.Join("\n", leaks));
        // The URLs were logged (ASP.NET Core logs every request's), with the token's value replaced.
        Assert.Contains(lines, line => line.Contains("access_token=[redacted]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_hub_connection_stops_following_a_build_when_it_leaves_it_or_closes()
    {
        var owner = await _api.SignUpAndLoginAsync("lee@example.com");
        var build = await StartSlowBuildAsync(owner);
        var followers = _api.Services.GetRequiredService<BuildLogFollowers>();
        await using var hub = await LongPollingHubClient.ConnectAsync(_api.Http, owner.AccessToken!, Cancellation);

        Assert.Equal(build, (await hub.InvokeAsync("JoinBuild", [build, 1], Cancellation))!["build_id"]!.GetValue<string>());
        Assert.Equal(1, followers.Count);
        Assert.Contains(await hub.NextMessageAsync("line", Cancellation), m => m["arguments"]![0]!["line"]!.GetValue<long>() == 1);
        var tooFar = await hub.InvokeAsync("JoinBuild", [build, 1_000_000], Cancellation, expectError: true);
        Assert.Contains("fromLine", tooFar!.GetValue<string>(), StringComparison.Ordinal);
        var badId = await hub.InvokeAsync("JoinBuild", ["../etc", 1], Cancellation, expectError: true);
        Assert.Contains("buildId", badId!.GetValue<string>(), StringComparison.Ordinal);

        // At most two builds per connection here (CloudDeck:Logs:MaxBuildsPerConnection); joining one again is a restart, not a third.
        var second = await StartSlowBuildAsync(owner);
        await hub.InvokeAsync("JoinBuild", [second, 1], Cancellation);
        await hub.InvokeAsync("JoinBuild", [second, 0], Cancellation);
        var third = await hub.InvokeAsync("JoinBuild", [await StartSlowBuildAsync(owner), 1], Cancellation, expectError: true);
        Assert.Contains("at most 2 builds", third!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, followers.Count);

        await hub.InvokeAsync("LeaveBuild", [build], Cancellation);
        await hub.InvokeAsync("LeaveBuild", [second], Cancellation);
        Assert.Equal(0, followers.Count);

        await hub.InvokeAsync("JoinBuild", [build, 0], Cancellation);
        Assert.Equal(1, followers.Count);
        await hub.CloseAsync(Cancellation);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (followers.Count != 0) await Task.Delay(50, deadline.Token);
    }

    [Fact]
    public async Task A_quiet_event_stream_sends_heartbeat_comments_until_the_log_completes()
    {
        var owner = await _api.SignUpAndLoginAsync("hattie@example.com");
        // A line a second, so the stream is quiet for longer than the (test's) 0.2 s heartbeat between lines.
        var build = (await _api.PostAsync("/_diag/builds", new { org = owner.PersonalOrganization, lines = 2, lines_per_second = 1 }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("id");
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/builds/{build}/logs");
        request.Headers.Authorization = new("Bearer", owner.AccessToken);
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await _api.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
        var received = new List<string>();
        while (await reader.ReadLineAsync(Cancellation) is { } line) received.Add(line);

        Assert.Contains(": heartbeat", received);
        Assert.Equal(["id: 1", "id: 2"], received.Where(l => l.StartsWith("id: ", StringComparison.Ordinal)));
        Assert.Equal("event: completed", received.Last(l => l.StartsWith("event: ", StringComparison.Ordinal)));
    }

    /// <summary>Slow enough to still be running when the test's connection goes.</summary>
    private async Task<string> StartSlowBuildAsync(Account owner) =>
        (await _api.PostAsync("/_diag/builds", new { org = owner.PersonalOrganization, lines = 1000, lines_per_second = 5 }, owner.AccessToken))
            .Expect(HttpStatusCode.Created).Text("id");

    private async Task<Answer> FollowAsync(string build, Account user, string lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/builds/{build}/logs?follow=true");
        request.Headers.Authorization = new("Bearer", user.AccessToken);
        request.Headers.Add("Last-Event-ID", lastEventId);
        using var response = await _api.Http.SendAsync(request, Cancellation);
        return new Answer(response.StatusCode, await response.Content.ReadAsStringAsync(Cancellation), null,
            response.Content.Headers.ContentType?.MediaType, $"GET {request.RequestUri} (Last-Event-ID: {lastEventId})");
    }

    private async Task WaitUntilFinishedAsync(string build, Account user)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while ((await _api.GetAsync($"/api/v1/builds/{build}", user.AccessToken)).Expect(HttpStatusCode.OK).Text("status") != "succeeded")
        {
            await Task.Delay(20, deadline.Token);
        }
    }

    private static Task ExpectFieldProblemAsync(Answer answer, string field, string detailMentions)
    {
        var problem = answer.Expect(HttpStatusCode.BadRequest);
        Assert.Equal("application/problem+json", answer.MediaType);
        Assert.True(problem["errors"]?[field] is not null, $"{answer.Request}: the problem should name '{field}': {answer.Body}");
        Assert.Contains(detailMentions, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _api.DisposeAsync();
}
