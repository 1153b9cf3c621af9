using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.Grains.Diagnostics;

namespace CloudDeck.Api.Tests.Logs;

/// <summary>
/// Live build logs end to end: the real API process (Kestrel on a loopback port, embedded silo on SQLite), a synthetic
/// build writing its log through the durable stream, and real clients: @microsoft/signalr in node, and an SSE reader
/// that drops its connection and resumes with Last-Event-ID. No test asserts a timing.
/// </summary>
public sealed class BuildLogFollowTests : ProcessTest
{
    private const int LineBytes = 100;
    private static readonly TimeSpan FollowTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task The_SignalR_JS_client_follows_10000_lines_each_once_in_order_then_completed()
    {
        Need.Component(NodeHarness.MissingReason);
        var api = await StartApiAsync();
        var user = await LogClient.SignUpAsync(api.Http, "follower@example.com", Cancellation);
        // 5,000 lines/s: the client joins while the build runs, so it gets history first, then live lines.
        var id = await LogClient.StartBuildAsync(api.Http, user, lines: 10_000, linesPerSecond: 5_000, LineBytes, Cancellation);

        var received = await FollowWithNodeAsync(api, user, id, "websockets");

        Assert.True(received["error"] is null, $"The client reported: {received["error"]}\n{api.Describe()}");
        AssertLines(Enumerable.Range(1, 10_000), received);
        Assert.Equal(BuildStatuses.Succeeded, received["completed"]?["status"]?.GetValue<string>());
        Assert.Equal(0, received["lines_after_completed"]!.GetValue<int>());
        // JoinBuild's answer through SignalR's JSON protocol: the API's snake_case contract, as every other body.
        Assert.Equal(id, received["joined"]?["build_id"]?.GetValue<string>());
        Assert.Equal(1, received["joined"]?["from_line"]?.GetValue<long>());
    }

    [Fact]
    public async Task An_SSE_client_that_drops_at_line_5000_resumes_with_Last_Event_ID_at_5001_and_the_text_log_has_every_line()
    {
        var api = await StartApiAsync();
        var user = await LogClient.SignUpAsync(api.Http, "reader@example.com", Cancellation);
        var id = await LogClient.StartBuildAsync(api.Http, user, lines: 10_000, linesPerSecond: 4_000, LineBytes, Cancellation);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        deadline.CancelAfter(FollowTimeout);
        using var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var path = $"api/v1/builds/{id}/logs?follow=true";

        var first = new List<ServerSentEvent>();
        using (var response = await LogClient.GetAsync(http, path, user, deadline.Token, completion: HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            await foreach (var message in LogClient.ReadEventsAsync(response, deadline.Token))
            {
                first.Add(message);
                if (message.Id == "5000") break; // and hang up, mid-build
            }
        }

        var second = new List<ServerSentEvent>();
        using (var response = await LogClient.GetAsync(http, path, user, deadline.Token, lastEventId: "5000", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await foreach (var message in LogClient.ReadEventsAsync(response, deadline.Token)) second.Add(message);
        }

        AssertEvents(Enumerable.Range(1, 5000), first);
        Assert.Equal("completed", second[^1].Event);
        Assert.Equal(BuildStatuses.Succeeded, second[^1].Json["status"]!.GetValue<string>());
        AssertEvents(Enumerable.Range(5001, 5000), second[..^1]);

        using var text = await LogClient.GetAsync(http, $"api/v1/builds/{id}/logs", user, deadline.Token);
        Assert.Equal(HttpStatusCode.OK, text.StatusCode);
        Assert.Equal("text/plain", text.Content.Headers.ContentType?.MediaType);
        var expected = string.Concat(Enumerable.Range(1, 10_000).Select(n => SyntheticBuildLog.TextOf(n, LineBytes) + "\n"));
        Assert.True(expected == await text.Content.ReadAsStringAsync(deadline.Token), "The text log should be every line's text, one per line, in order.");
    }

    [Fact]
    public async Task Another_tenant_gets_404_from_the_endpoints_and_not_found_from_the_hub()
    {
        var api = await StartApiAsync();
        var owner = await LogClient.SignUpAsync(api.Http, "owner@example.com", Cancellation);
        var other = await LogClient.SignUpAsync(api.Http, "other@example.net", Cancellation);
        var id = await LogClient.StartBuildAsync(api.Http, owner, lines: 10, linesPerSecond: 0, LineBytes, Cancellation);

        foreach (var path in new[] { $"api/v1/builds/{id}", $"api/v1/builds/{id}/logs", $"api/v1/builds/{id}/logs?follow=true", "api/v1/builds/0123456789abcdef/logs" })
        {
            using var response = await LogClient.GetAsync(api.Http, path, other, Cancellation);
            var problem = await LogClient.Expect(response, HttpStatusCode.NotFound, Cancellation);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("not found", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        using (var owned = await LogClient.GetAsync(api.Http, $"api/v1/builds/{id}", owner, Cancellation))
        {
            Assert.Equal(owner.Organization, (await LogClient.Expect(owned, HttpStatusCode.OK, Cancellation))["organization"]!.GetValue<string>());
        }

        Need.Component(NodeHarness.MissingReason);
        var refused = await FollowWithNodeAsync(api, other, id, "websockets", expectSuccess: false);
        Assert.Contains($"Build '{id}' not found", refused["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(refused["lines"]!.AsArray());
    }

    [Fact]
    public async Task Lines_over_16_KiB_arrive_split_with_nothing_lost_over_the_hub_and_in_the_text_log()
    {
        Need.Component(NodeHarness.MissingReason);
        var api = await StartApiAsync();
        var user = await LogClient.SignUpAsync(api.Http, "long@example.com", Cancellation);
        const int longLineBytes = 40_000;
        var id = await LogClient.StartBuildAsync(api.Http, user, lines: 3, linesPerSecond: 0, longLineBytes, Cancellation);
        var expected = Enumerable.Range(1, 3).SelectMany(n => BuildLogs.Split(SyntheticBuildLog.Line(n, longLineBytes, DateTimeOffset.UnixEpoch))).ToList();
        Assert.Equal(9, expected.Count);

        // The SSE transport sends the token as ?access_token=, as a browser does.
        var received = await FollowWithNodeAsync(api, user, id, "sse");

        Assert.True(received["error"] is null, $"The client reported: {received["error"]}\n{api.Describe()}");
        var entries = received["entries"]!.AsArray();
        Assert.Equal(Enumerable.Range(1, 9).Select(n => (long)n), entries.Select(e => e!["line"]!.GetValue<long>()));
        Assert.Equal(expected.Select(l => (l.Stream, l.Text)), entries.Select(e => (e!["stream"]!.GetValue<string>(), e["text"]!.GetValue<string>())));
        Assert.All(entries, e => Assert.InRange(Encoding.UTF8.GetByteCount(e!["text"]!.GetValue<string>()), 1, BuildLogs.MaxLineBytes));
        for (var n = 1; n <= 3; n++)
        {
            Assert.Equal(SyntheticBuildLog.TextOf(n, longLineBytes), string.Concat(expected.Skip((n - 1) * 3).Take(3).Select(l => l.Text)));
        }

        using var text = await LogClient.GetAsync(api.Http, $"api/v1/builds/{id}/logs", user, Cancellation);
        Assert.Equal(string.Concat(expected.Select(l => l.Text + "\n")), await text.Content.ReadAsStringAsync(Cancellation));
    }

    [Theory]
    [InlineData("CloudDeck__Logs__HeartbeatInterval", "00:00:00", "CloudDeck:Logs:HeartbeatInterval")]
    [InlineData("CloudDeck__Logs__MaxBuildsPerConnection", "0", "CloudDeck:Logs:MaxBuildsPerConnection")]
    public async Task A_wrong_logs_setting_fails_on_start_naming_it(string variable, string value, string setting)
    {
        var process = Track(ApiHost.Launch(ChildProcess.FreeTcpPort(), DataDirectory, new Dictionary<string, string?> { [variable] = value }));

        Assert.True(await process.WaitForExitAsync(ApiHost.StartTimeout, Cancellation), $"A wrong {setting} should stop the host.\n{ApiHost.Describe(process)}");
        Assert.True(process.ExitCode == 1, $"A misconfigured host should exit 1, not crash.\n{ApiHost.Describe(process)}");
        Assert.Contains(setting, process.Output, StringComparison.Ordinal);
    }

    /// <summary>Runs tests/js/follow-build.mjs against the API and answers the JSON it wrote.</summary>
    private async Task<JsonNode> FollowWithNodeAsync(ApiHost api, LogUser user, string buildId, string transport, bool expectSuccess = true)
    {
        var output = Path.Combine(DataDirectory, $"follow-{buildId}-{transport}.json");
        var run = await NodeHarness.RunAsync("follow-build.mjs",
            [api.BaseAddress.ToString(), user.AccessToken, buildId, "--transport", transport, "--out", output, "--timeout", "200"],
            FollowTimeout, Cancellation);
        var expectedCode = expectSuccess ? 0 : 1;
        Assert.True(run.ExitCode == expectedCode && File.Exists(output),
            $"node follow-build.mjs exited with {run.ExitCode} (expected {expectedCode}).\n{run.Output}\n{api.Describe()}");
        return JsonNode.Parse(await File.ReadAllTextAsync(output, Cancellation))!;
    }

    private static void AssertLines(IEnumerable<int> lines, JsonNode received)
    {
        var expected = lines.ToList();
        var numbers = received["lines"]!.AsArray().Select(n => n!.GetValue<long>()).ToList();
        var duplicates = numbers.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).Take(10).ToList();
        Assert.True(duplicates.Count == 0, $"Lines received more than once: {string.Join(", ", duplicates)}");
        Assert.True(numbers.SequenceEqual(expected.Select(n => (long)n)),
            $"Expected lines {expected[0]}..{expected[^1]} in order; got {numbers.Count} lines, first differing at index {FirstDifference(numbers, expected)}.");
        var entries = received["entries"]!.AsArray();
        Assert.All(entries, entry =>
        {
            var n = entry!["line"]!.GetValue<int>();
            Assert.Equal((SyntheticBuildLog.StreamOf(n), SyntheticBuildLog.TextOf(n, LineBytes)), (entry["stream"]!.GetValue<string>(), entry["text"]!.GetValue<string>()));
        });
    }

    private static void AssertEvents(IEnumerable<int> lines, IReadOnlyList<ServerSentEvent> events)
    {
        var expected = lines.ToList();
        Assert.All(events, e => Assert.Equal("line", e.Event));
        var ids = events.Select(e => long.Parse(e.Id!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(ids.SequenceEqual(expected.Select(n => (long)n)),
            $"Expected events {expected[0]}..{expected[^1]} in order, each once; got {ids.Count}, first differing at index {FirstDifference(ids, expected)}.");
        Assert.All(events, e =>
        {
            var data = e.Json;
            var n = data["line"]!.GetValue<int>();
            Assert.Equal(e.Id, n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal((SyntheticBuildLog.StreamOf(n), SyntheticBuildLog.TextOf(n, LineBytes)), (data["stream"]!.GetValue<string>(), data["text"]!.GetValue<string>()));
        });
    }

    private static int FirstDifference(IReadOnlyList<long> actual, IReadOnlyList<int> expected)
    {
        for (var i = 0; i < Math.Min(actual.Count, expected.Count); i++)
        {
            if (actual[i] != expected[i]) return i;
        }

        return Math.Min(actual.Count, expected.Count);
    }
}
