using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests;
using CloudDeck.Testing;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// A real Node server deployment's runtime log followed in the real API process, over Server-Sent Events and with
/// <c>deck logs --runtime -f</c>: lines the server prints after the follow started arrive live, a reconnect with
/// Last-Event-ID gets only later lines, a secret the server prints arrives as ***, and another tenant gets 404.
/// </summary>
[Trait("needs", "pipeline")]
public sealed class RuntimeLogFollowTests : DeckProcessTest
{
    private const string SecretValue = "s3cr3t-runtime-value-4711";
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["CloudDeck__Projects__AllowLocalSources"] = "true",
        ["CloudDeck__Servers__HealthCheckTimeout"] = "00:00:10",
        ["CloudDeck__Servers__MonitorInterval"] = "00:00:00.100",
        ["CloudDeck__Logs__HeartbeatInterval"] = "00:00:00.500",
    };

    /// <summary>Prints one line per request, naming its path and the secret it was given.</summary>
    private const string Server = """
        const http = require('http');
        const port = Number(process.env.PORT);
        http.createServer((req, res) => {
          console.log(`request ${req.url} key=${process.env.API_KEY}`);
          res.end('ok');
        }).listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
        """;

    public RuntimeLogFollowTests() => Need.Component(NodeHarness.MissingReason);

    [Fact]
    public async Task A_followed_runtime_log_delivers_live_lines_resumes_after_Last_Event_ID_masks_secrets_and_is_404_to_another_tenant()
    {
        var api = await StartApiAsync(Settings);
        var user = await LoggedInAsync(api, "runtime@example.com");
        using var http = Client(api, user.AccessToken);
        await ExpectAsync(await http.PostAsJsonAsync($"api/v1/orgs/{user.Organization}/projects", new { name = "api", local_path = await RepositoryAsync() }, Cancellation), HttpStatusCode.Created);
        await ExpectAsync(await http.PutAsJsonAsync($"api/v1/orgs/{user.Organization}/projects/api/env/production/API_KEY", new { value = SecretValue }, Cancellation), HttpStatusCode.OK);
        var deployment = await DeployAsync(http, user);
        var host = $"api-{user.Organization}.localhost:{api.BaseAddress.Port}";

        // Follow from the start: the lines already printed come first, then what the server prints from now on.
        long live;
        using (var first = await EventStream.OpenAsync(http, deployment, lastEventId: null))
        {
            await first.NextLineAsync(text => text.StartsWith("listening on ", StringComparison.Ordinal));
            await RequestAsync(api, host, "/after-follow-started");
            var line = await first.NextLineAsync(text => text.Contains("/after-follow-started", StringComparison.Ordinal));
            Assert.Equal("request /after-follow-started key=***", line.Text);
            live = line.Id;
        }

        // Dropped; the server goes on printing; the reconnect resumes at the next line and repeats none.
        await RequestAsync(api, host, "/while-away");
        using (var resumed = await EventStream.OpenAsync(http, deployment, lastEventId: live))
        {
            var next = await resumed.NextLineAsync(_ => true);
            Assert.Equal(live + 1, next.Id);
            var away = next.Text.Contains("/while-away", StringComparison.Ordinal) ? next
                : await resumed.NextLineAsync(text => text.Contains("/while-away", StringComparison.Ordinal));
            Assert.Equal("request /while-away key=***", away.Text);
            Assert.All(resumed.Seen, seen => Assert.True(seen.Id > live, $"line {seen.Id} ({seen.Text}) was at or before Last-Event-ID {live}"));
            Assert.DoesNotContain(resumed.Seen, seen => seen.Text.Contains("/after-follow-started", StringComparison.Ordinal));
            Assert.Contains(": heartbeat", await resumed.RawUntilAsync(": heartbeat"));
        }

        // deck prints the log so far, then the lines printed while it follows, until Ctrl+C.
        {
            var deck = Track(ChildProcess.Start(ApiHost.DotnetHost, [RepoPaths.ProjectOutput("cli", "deck"), "logs", deployment, "--runtime", "-f"],
                new Dictionary<string, string?> { ["CLOUDDECK_API"] = api.BaseAddress.ToString(), ["CLOUDDECK_TOKEN"] = null, ["CLOUDDECK_CONFIG_DIR"] = ConfigDirectory }, Work));
            await deck.WaitForOutputAsync(text => text.Contains("/while-away", StringComparison.Ordinal), Deadline, Cancellation);
            await RequestAsync(api, host, "/while-deck-follows");
            var printed = await deck.WaitForOutputAsync(text => text.Contains("/while-deck-follows", StringComparison.Ordinal), Deadline, Cancellation);
            Assert.Contains("key=***", printed, StringComparison.Ordinal);
            deck.Kill(Signal.SIGINT);
            Assert.True(await deck.WaitForExitAsync(Deadline, Cancellation), $"deck did not stop on Ctrl+C:\n{deck.Output}");
            // 130, as for any command interrupted by Ctrl+C (System.CommandLine's convention), and no error line.
            Assert.True(deck.ExitCode == 130, $"deck exited {deck.ExitCode} on Ctrl+C:\n{deck.Output}");
            Assert.DoesNotContain(deck.Output.Split('\n'), l => l.StartsWith("! ", StringComparison.Ordinal));
            Assert.DoesNotContain(SecretValue, deck.Output, StringComparison.Ordinal);
        }

        var text = await http.GetStringAsync($"api/v1/deployments/{deployment}/logs/runtime", Cancellation);
        Assert.Contains("request /while-deck-follows key=***", text, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretValue, text, StringComparison.Ordinal);

        // Another tenant: the same route, followed or not, does not exist for them.
        var stranger = await SignUpAsync(api, "stranger@example.com");
        using var strangers = Client(api, stranger.AccessToken);
        using (var followed = await EventStream.SendAsync(strangers, deployment, lastEventId: null))
        {
            Assert.Equal(HttpStatusCode.NotFound, followed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await strangers.GetAsync($"api/v1/deployments/{deployment}/logs/runtime", Cancellation)).StatusCode);
        // A position no client can have seen is a 400 naming the header.
        using var tooFar = await EventStream.SendAsync(http, deployment, lastEventId: 1_000_000);
        Assert.Equal(HttpStatusCode.BadRequest, tooFar.StatusCode);
        Assert.Contains("Last-Event-ID", await tooFar.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
    }

    private static HttpClient Client(ApiHost api, string token)
    {
        var http = new HttpClient { BaseAddress = api.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    private async Task<string> RepositoryAsync()
    {
        var repo = Directory.CreateDirectory(Path.Combine(Work, "node-server")).FullName;
        await File.WriteAllTextAsync(Path.Combine(repo, "package.json"), """
            { "name": "node-server", "version": "1.0.0", "private": true, "scripts": { "start": "node server.js" } }
            """, Cancellation);
        await File.WriteAllTextAsync(Path.Combine(repo, "package-lock.json"), """
            { "name": "node-server", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
              "packages": { "": { "name": "node-server", "version": "1.0.0" } } }
            """, Cancellation);
        await File.WriteAllTextAsync(Path.Combine(repo, "server.js"), Server, Cancellation);
        foreach (var args in new[] { new[] { "init", "-q", "-b", "main" }, ["add", "-A"], ["commit", "-q", "-m", "Node server"] })
        {
            await using var git = ChildProcess.Start("git", args, new Dictionary<string, string?>
            {
                ["GIT_AUTHOR_NAME"] = "Test", ["GIT_AUTHOR_EMAIL"] = "test@example.com",
                ["GIT_COMMITTER_NAME"] = "Test", ["GIT_COMMITTER_EMAIL"] = "test@example.com",
            }, repo);
            Assert.True(await git.WaitForExitAsync(Deadline, Cancellation) && git.ExitCode == 0, $"git {string.Join(' ', args)}:\n{git.Output}");
        }

        return repo;
    }

    private static async Task<string> DeployAsync(HttpClient http, DeckUser user)
    {
        var created = await ExpectAsync(await http.PostAsJsonAsync(
            $"api/v1/orgs/{user.Organization}/projects/api/deployments", new { target = "production", git_ref = "main" }, Cancellation), HttpStatusCode.Created);
        var id = created["id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var deployment = await ExpectAsync(await http.GetAsync($"api/v1/deployments/{id}", Cancellation), HttpStatusCode.OK);
            var status = deployment["status"]!.GetValue<string>();
            if (status == "ready") return id;
            Assert.True(status is "building" or "queued", $"deployment {id} ended {deployment}");
            Assert.True(DateTime.UtcNow < deadline, $"deployment {id} still {status} after {Deadline}");
            await Task.Delay(100, Cancellation);
        }
    }

    private static async Task RequestAsync(ApiHost api, string host, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        using var response = await api.Http.SendAsync(request, Cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>One open <c>?follow=true</c> response, read event by event.</summary>
    private sealed class EventStream : IDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly StreamReader _reader;

        private EventStream(HttpResponseMessage response, Stream body)
        {
            _response = response;
            _reader = new StreamReader(body);
        }

        public List<(long Id, string Text)> Seen { get; } = [];

        public static async Task<HttpResponseMessage> SendAsync(HttpClient http, string deployment, long? lastEventId)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/deployments/{deployment}/logs/runtime?follow=true");
            request.Headers.Accept.ParseAdd("text/event-stream");
            if (lastEventId is { } id) request.Headers.Add("Last-Event-ID", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        }

        public static async Task<EventStream> OpenAsync(HttpClient http, string deployment, long? lastEventId)
        {
            var response = await SendAsync(http, deployment, lastEventId);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            return new EventStream(response, await response.Content.ReadAsStreamAsync(Cancellation));
        }

        /// <summary>Reads events until a line event whose text matches (a runtime log never ends, so a deadline bounds the wait).</summary>
        public async Task<(long Id, string Text)> NextLineAsync(Func<string, bool> matches)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
            deadline.CancelAfter(Deadline);
            string? id = null, name = null, data = null;
            while (await _reader.ReadLineAsync(deadline.Token) is { } field)
            {
                if (field.StartsWith("id: ", StringComparison.Ordinal)) id = field[4..];
                else if (field.StartsWith("event: ", StringComparison.Ordinal)) name = field[7..];
                else if (field.StartsWith("data: ", StringComparison.Ordinal)) data = field[6..];
                else if (field.Length == 0 && name == "line")
                {
                    var json = JsonNode.Parse(data!)!;
                    var line = (long.Parse(id!, System.Globalization.CultureInfo.InvariantCulture), json["text"]!.GetValue<string>());
                    Assert.Equal(line.Item1, json["line"]!.GetValue<long>());
                    Seen.Add(line);
                    if (matches(line.Item2)) return line;
                    (id, name, data) = (null, null, null);
                }
            }

            throw new InvalidOperationException($"the stream ended; lines seen: {string.Join(" | ", Seen.Select(s => s.Text))}");
        }

        /// <summary>Raw lines until one equals <paramref name="wanted"/>: the heartbeat comments of a quiet stream.</summary>
        public async Task<List<string>> RawUntilAsync(string wanted)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
            deadline.CancelAfter(Deadline);
            var raw = new List<string>();
            while (await _reader.ReadLineAsync(deadline.Token) is { } field)
            {
                raw.Add(field);
                if (field == wanted) break;
            }

            return raw;
        }

        public void Dispose()
        {
            _reader.Dispose();
            _response.Dispose();
        }
    }
}
