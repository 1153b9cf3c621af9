using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests;
using CloudDeck.Api.Tests.Edge;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// Server apps end to end in the real API process: a Node app (node:http, <c>npm start</c>) in a real git repository,
/// built and detected by the platform, started and health-checked by its server grain, answered through the edge's
/// reverse proxy at its production URL; swaps under load, a health check that never passes, a SIGKILL.
/// </summary>
[Trait("needs", "pipeline")]
public class ServerAppTests : DeckProcessTest
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["CloudDeck__Projects__AllowLocalSources"] = "true",
        ["CloudDeck__Servers__HealthCheckTimeout"] = "00:00:10",
        ["CloudDeck__Servers__DrainGrace"] = "00:00:01",
        ["CloudDeck__Servers__StopGrace"] = "00:00:02",
        ["CloudDeck__Servers__MonitorInterval"] = "00:00:00.100",
    };

    public ServerAppTests() => Need.Component(NodeHarness.MissingReason);

    /// <summary>Settings of the API beyond these tests' own (where servers run).</summary>
    protected virtual Task<Dictionary<string, string?>> RuntimeSettingsAsync() => Task.FromResult(new Dictionary<string, string?>());

    /// <summary>The app's server.js.</summary>
    protected virtual string ServerScript => NodeUpstream.Script;

    [Fact]
    public async Task A_node_server_app_deploys_passes_its_health_check_and_answers_http_and_websocket_at_its_production_url()
    {
        // The edge itself sits behind a proxy at 127.0.0.1 here: the app sees the client address that proxy reported.
        var (api, user, http, repo) = await ProjectAsync("v1", new() { ["CloudDeck__Http__KnownProxies"] = "127.0.0.1" });

        var deployment = await DeployAsync(http, user, "production", "main");

        var host = $"api-{user.Organization}.localhost:{api.BaseAddress.Port}";
        using var hello = await SendAsync(api, host, HttpMethod.Get, "/");
        Assert.Equal(HttpStatusCode.OK, hello.StatusCode);
        Assert.StartsWith("hello from v1 on ", await hello.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal(deployment, hello.Headers.GetValues("X-CloudDeck-Edge").Single());
        using var headers = await SendAsync(api, host, HttpMethod.Get, "/headers");
        var seen = JsonNode.Parse(await headers.Content.ReadAsStringAsync(Cancellation))!;
        Assert.Equal(host, seen["host"]!.GetValue<string>());
        Assert.Equal(host, seen["forwardedHost"]!.GetValue<string>());
        Assert.Equal("127.0.0.1", seen["forwardedFor"]!.GetValue<string>());
        Assert.Equal("http", seen["forwardedProto"]!.GetValue<string>());
        using var proxied = await SendAsync(api, host, HttpMethod.Get, "/headers", headers: ("X-Forwarded-For", "203.0.113.7"));
        Assert.Equal("203.0.113.7", JsonNode.Parse(await proxied.Content.ReadAsStringAsync(Cancellation))!["forwardedFor"]!.GetValue<string>());
        using var upload = await SendAsync(api, host, HttpMethod.Post, "/upload", new StringContent("a body for the app"));
        Assert.Equal(18, JsonNode.Parse(await upload.Content.ReadAsStringAsync(Cancellation))!["bytes"]!.GetValue<long>());

        // The production URL itself; *.localhost is connected to loopback, as a browser does (this resolver does not).
        using var loopback = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var connection = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await connection.ConnectAsync(IPAddress.Loopback, context.DnsEndPoint.Port, token);
                return new System.Net.Sockets.NetworkStream(connection, ownsSocket: true);
            },
        });
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{host}/socket"), loopback, Cancellation);
        await socket.SendAsync(Encoding.UTF8.GetBytes("hello over the edge"), WebSocketMessageType.Text, true, Cancellation);
        var buffer = new byte[4096];
        var received = await socket.ReceiveAsync(buffer, Cancellation);
        Assert.Equal("echo:hello over the edge", Encoding.UTF8.GetString(buffer, 0, received.Count));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Cancellation);
        Assert.NotNull(repo);
    }

    [Fact]
    public async Task Promote_then_rollback_under_continuous_load_fail_no_request_and_both_versions_answer()
    {
        var (api, user, http, repo) = await ProjectAsync("v1");
        var first = await DeployAsync(http, user, "production", "main");
        await CommitLabelAsync(repo, "next", "v2");
        var second = await DeployAsync(http, user, "preview", "next");
        var host = $"api-{user.Organization}.localhost:{api.BaseAddress.Port}";

        await using var load = new ServerLoadLoop(api.BaseAddress, host, workers: 4);
        await load.WaitForAsync(_ => load.Completed > 20, "the load loop to get going");

        await ExpectAsync(await http.PostAsync($"api/v1/deployments/{second}/promote", null, Cancellation), HttpStatusCode.OK);
        await load.WaitForAsync(_ => load.Seen.ContainsKey("v2"), "v2 to answer after the promote");
        // The old server is drained and stopped while the load goes on: a request still sent to it would fail.
        await WaitForServerStateAsync(http, first, "stopped");
        var afterPromote = load.Completed;
        await load.WaitForAsync(_ => load.Completed > afterPromote + 50, "more requests after v1 stopped");

        var v1BeforeRollback = load.Seen.GetValueOrDefault("v1");
        await ExpectAsync(await http.PostAsJsonAsync($"api/v1/orgs/{user.Organization}/projects/api/rollback", new { deployment_id = first }, Cancellation), HttpStatusCode.OK);
        await WaitForServerStateAsync(http, second, "stopped");
        var afterRollback = load.Completed;
        await load.WaitForAsync(_ => load.Completed > afterRollback + 50 && load.LastLabel == "v1", "v1 to answer again after the rollback");
        await load.StopAsync();

        Assert.True(load.Failures.IsEmpty, $"{load.Failures.Count} of {load.Completed} requests failed during the swaps:\n{string.Join('\n', load.Failures.Take(10))}");
        Assert.True(load.Seen.ContainsKey("v1") && load.Seen.ContainsKey("v2"), $"versions seen: {string.Join(", ", load.Seen.Keys)}");
        Assert.True(load.Seen["v1"] > v1BeforeRollback, "v1 answered again after the rollback, from its restarted server");
    }

    [Fact]
    public async Task A_deployment_whose_health_check_never_passes_fails_and_production_keeps_answering_from_the_previous_one()
    {
        var (api, user, http, repo) = await ProjectAsync("v1");
        var good = await DeployAsync(http, user, "production", "main");
        await CommitLabelAsync(repo, "main", "broken");

        var created = await ExpectAsync(await http.PostAsJsonAsync(
            $"api/v1/orgs/{user.Organization}/projects/api/deployments", new { target = "production", git_ref = "main" }, Cancellation), HttpStatusCode.Created);
        var broken = created["id"]!.GetValue<string>();
        var final = await SettledAsync(http, broken);

        Assert.Equal("failed", final["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(final["error"]?.GetValue<string>()), $"a failed server deployment says why: {final}");
        var host = $"api-{user.Organization}.localhost:{api.BaseAddress.Port}";
        using var production = await SendAsync(api, host, HttpMethod.Get, "/");
        Assert.Equal(HttpStatusCode.OK, production.StatusCode);
        Assert.StartsWith("hello from v1", await production.Content.ReadAsStringAsync(Cancellation));
        Assert.Equal(good, production.Headers.GetValues("X-CloudDeck-Edge").Single());
        var status = await ExpectAsync(await http.GetAsync($"api/v1/deployments/{broken}/server", Cancellation), HttpStatusCode.OK);
        Assert.NotEqual("healthy", status["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_server_killed_with_SIGKILL_is_restarted_answers_again_and_its_restart_count_is_visible()
    {
        var (api, user, http, _) = await ProjectAsync("v1");
        var deployment = await DeployAsync(http, user, "production", "main");
        var host = $"api-{user.Organization}.localhost:{api.BaseAddress.Port}";
        using (var first = await SendAsync(api, host, HttpMethod.Get, "/")) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var before = await ExpectAsync(await http.GetAsync($"api/v1/deployments/{deployment}/server", Cancellation), HttpStatusCode.OK);
        Assert.Equal(0, before["restarts"]!.GetValue<int>());

        // Process.Kill is SIGKILL on Unix.
        using (var process = System.Diagnostics.Process.GetProcessById(before["pid"]!.GetValue<int>())) process.Kill();

        var restarted = await WaitForAsync(http, deployment, status => status["restarts"]!.GetValue<int>() >= 1 && status["state"]!.GetValue<string>() == "healthy",
            "the grain to restart the killed server");
        Assert.Equal(1, restarted["restarts"]!.GetValue<int>());
        Assert.Equal(137, restarted["last_exit_code"]!.GetValue<int>());
        Assert.NotEqual(before["port"]!.GetValue<int>(), restarted["port"]!.GetValue<int>());

        // The edge still has the old port: its connection is refused, it asks the grain again and retries, so the very
        // first request after the restart is answered by the new process.
        using var after = await SendAsync(api, host, HttpMethod.Get, "/");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal($"hello from v1 on {restarted["port"]!.GetValue<int>()}", await after.Content.ReadAsStringAsync(Cancellation));
    }

    [Fact]
    public async Task An_idle_preview_that_cannot_start_again_gets_the_502_page_naming_the_deployment_and_why()
    {
        var (api, user, http, _) = await ProjectAsync("v1", new() { ["CloudDeck__Servers__PreviewIdleTimeout"] = "00:00:01" });
        var preview = await DeployAsync(http, user, "preview", "main");
        var host = $"{preview}.localhost:{api.BaseAddress.Port}";
        using (var first = await SendAsync(api, host, HttpMethod.Get, "/")) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await WaitForServerStateAsync(http, preview, "stopped");
        // Its next start gets this variable, with which the app never passes its health check.
        await ExpectAsync(await http.PutAsJsonAsync($"api/v1/orgs/{user.Organization}/projects/api/env/preview/BROKEN", new { value = "1" }, Cancellation), HttpStatusCode.OK);

        using var response = await SendAsync(api, host, HttpMethod.Get, "/");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var page = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.Contains(preview, page, StringComparison.Ordinal);
        Assert.Contains("503", page, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", page, StringComparison.Ordinal);
    }

    /// <summary>Why this runtime cannot hold a server to its disk limit here (the process runtime needs its sandbox); null when it can.</summary>
    protected virtual string? MissingDiskLimit =>
        Requirement.Check(File.Exists("/usr/bin/bwrap") && File.Exists("/usr/bin/slirp4netns"), "bubblewrap and slirp4netns (a sandboxed server's disk limit)",
            "apt-get install bubblewrap slirp4netns");

    [Fact]
    public async Task A_server_past_its_disk_limit_is_stopped_saying_so_and_starts_again_from_its_deployments_files()
    {
        Need.Component(MissingDiskLimit);
        var (api, user, http, _) = await ProjectAsync("v1", new() { ["CloudDeck__Servers__DiskLimitMb"] = "16" });
        var deployment = await DeployAsync(http, user, "production", "main");
        var host = $"api-{user.Organization}.localhost:{api.BaseAddress.Port}";
        using (var small = await SendAsync(api, host, HttpMethod.Get, "/fill?mb=2"))
        {
            Assert.Equal("holding 2 files", await small.Content.ReadAsStringAsync(Cancellation));
        }

        // 40 MiB more, 1 MiB a file (each under RLIMIT_FSIZE): past the limit in sum, which the watch sees. The answer may
        // or may not arrive before the watch ends the server.
        try
        {
            using var big = await SendAsync(api, host, HttpMethod.Get, "/fill?mb=40");
        }
        catch (HttpRequestException)
        {
        }

        var restarted = await WaitForAsync(http, deployment, status => status["restarts"]!.GetValue<int>() >= 1 && status["state"]!.GetValue<string>() == "healthy",
            "the server past its disk limit to be restarted");
        Assert.Equal(1, restarted["restarts"]!.GetValue<int>());
        var log = await http.GetStringAsync($"api/v1/deployments/{deployment}/logs/runtime", Cancellation);
        Assert.Contains("The server wrote past its disk limit (16 MiB, CloudDeck:Servers:DiskLimitMb); it starts again from its deployment's files", log,
            StringComparison.Ordinal);
        // What it wrote is gone: the files are the deployment's again.
        using var after = await SendAsync(api, host, HttpMethod.Get, "/fill?mb=1");
        Assert.Equal("holding 1 files", await after.Content.ReadAsStringAsync(Cancellation));
    }

    private protected async Task<(ApiHost Api, DeckUser User, HttpClient Http, string Repo)> ProjectAsync(string label, Dictionary<string, string?>? settings = null)
    {
        var merged = new Dictionary<string, string?>(Settings);
        foreach (var (key, value) in await RuntimeSettingsAsync()) merged[key] = value;
        foreach (var (key, value) in settings ?? []) merged[key] = value;
        var api = await StartApiAsync(merged);
        var user = await SignUpAsync(api, "server@example.com");
        var repo = await ServerRepositoryAsync(label);
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
        await ExpectAsync(await http.PostAsJsonAsync($"api/v1/orgs/{user.Organization}/projects", new { name = "api", local_path = repo }, Cancellation), HttpStatusCode.Created);
        return (api, user, http, repo);
    }

    /// <summary>A Node server as a developer writes it: package.json with a start script, its lockfile, server.js; committed on main.</summary>
    private async Task<string> ServerRepositoryAsync(string label)
    {
        var repo = Directory.CreateDirectory(Path.Combine(Work, "node-server")).FullName;
        await File.WriteAllTextAsync(Path.Combine(repo, "package.json"), """
            { "name": "node-server", "version": "1.0.0", "private": true, "scripts": { "start": "node server.js" } }
            """, Cancellation);
        await File.WriteAllTextAsync(Path.Combine(repo, "package-lock.json"), """
            { "name": "node-server", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
              "packages": { "": { "name": "node-server", "version": "1.0.0" } } }
            """, Cancellation);
        await File.WriteAllTextAsync(Path.Combine(repo, "server.js"), ServerScript, Cancellation);
        await File.WriteAllTextAsync(Path.Combine(repo, "label.txt"), label, Cancellation);
        await GitAsync(repo, "init", "-q", "-b", "main");
        await GitAsync(repo, "add", "-A");
        await GitAsync(repo, "commit", "-q", "-m", "Node server");
        return repo;
    }

    private async Task CommitLabelAsync(string repo, string branch, string label)
    {
        var current = await GitAsync(repo, "rev-parse", "--abbrev-ref", "HEAD");
        if (current != branch) await GitAsync(repo, "checkout", "-q", "-B", branch);
        await File.WriteAllTextAsync(Path.Combine(repo, "label.txt"), label, Cancellation);
        await GitAsync(repo, "commit", "-q", "-am", label);
    }

    private protected static async Task<string> DeployAsync(HttpClient http, DeckUser user, string target, string gitRef)
    {
        var created = await ExpectAsync(await http.PostAsJsonAsync(
            $"api/v1/orgs/{user.Organization}/projects/api/deployments", new { target, git_ref = gitRef }, Cancellation), HttpStatusCode.Created);
        var id = created["id"]!.GetValue<string>();
        var final = await SettledAsync(http, id);
        if (final["status"]!.GetValue<string>() != "ready")
        {
            var buildId = final["build_id"]?.GetValue<string>();
            var log = buildId is null ? "(no build)" : await http.GetStringAsync($"api/v1/builds/{buildId}/logs", Cancellation);
            Assert.Fail($"deployment {id} ended {final}; build log:\n{log}");
        }

        return id;
    }

    /// <summary>Waits until the deployment is no longer building (a server's stays building until its health check is over).</summary>
    internal static Task<JsonNode> SettledAsync(HttpClient http, string id) => EventuallyAsync(async () =>
    {
        var deployment = await ExpectAsync(await http.GetAsync($"api/v1/deployments/{id}", Cancellation), HttpStatusCode.OK);
        return deployment["status"]!.GetValue<string>() is "building" or "queued" ? null : deployment;
    }, $"deployment {id} to finish");

    internal static Task WaitForServerStateAsync(HttpClient http, string id, string state) =>
        WaitForAsync(http, id, status => status["state"]!.GetValue<string>() == state, $"the server of {id} to be {state}");

    internal static async Task<JsonNode> WaitForAsync(HttpClient http, string id, Func<JsonNode, bool> condition, string what)
    {
        JsonNode? last = null;
        return await EventuallyAsync(async () =>
        {
            last = await ExpectAsync(await http.GetAsync($"api/v1/deployments/{id}/server", Cancellation), HttpStatusCode.OK);
            return condition(last) ? last : null;
        }, what, () => last?.ToJsonString() ?? "nothing");
    }

    internal static async Task<JsonNode> EventuallyAsync(Func<Task<JsonNode?>> attempt, string what, Func<string>? lastSeen = null)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            if (await attempt() is { } done) return done;
            Assert.True(DateTime.UtcNow < deadline, $"gave up waiting for {what} after {Deadline}; last seen: {lastSeen?.Invoke()}");
            await Task.Delay(100, Cancellation);
        }
    }

    internal static async Task<HttpResponseMessage> SendAsync(ApiHost api, string host, HttpMethod method, string path, HttpContent? content = null,
        params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Host = host;
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        var response = await api.Http.SendAsync(request, Cancellation);
        await response.Content.LoadIntoBufferAsync(Cancellation);
        return response;
    }

    private Task<string> GitAsync(string repo, params string[] args) => RunAsync(repo, "git", args);

    private static async Task<string> RunAsync(string directory, string command, params string[] args)
    {
        var environment = new Dictionary<string, string?>
        {
            ["GIT_AUTHOR_NAME"] = "Test", ["GIT_AUTHOR_EMAIL"] = "test@example.com",
            ["GIT_COMMITTER_NAME"] = "Test", ["GIT_COMMITTER_EMAIL"] = "test@example.com",
        };
        await using var process = ChildProcess.Start(command, args, environment, directory);
        Assert.True(await process.WaitForExitAsync(TimeSpan.FromMinutes(1), Cancellation), $"{command} {string.Join(' ', args)} did not finish:\n{process.Output}");
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', args)} exited {process.ExitCode}:\n{process.Output}");
        return process.Output.Trim();
    }
}
