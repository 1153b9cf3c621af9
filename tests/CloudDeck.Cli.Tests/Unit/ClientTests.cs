using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Config;
using CloudDeck.Cli.Deploy;
using CloudDeck.Cli.Logs;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Tests.Unit;

/// <summary>deck's HTTP logic against a stub: uploads only what is missing, resumes a log, renews a session.</summary>
public sealed class ClientTests : IDisposable
{
    private static readonly Uri Api = new("http://deck.test/");
    private readonly string _root = Directory.CreateTempSubdirectory("deck-client-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Only_the_contents_the_API_lacks_are_uploaded_each_with_its_exact_bytes_and_length()
    {
        File.WriteAllText(Path.Combine(_root, "index.html"), "<h1>v2</h1>");
        File.WriteAllText(Path.Combine(_root, "app.js"), "console.log(1)");
        File.WriteAllText(Path.Combine(_root, "same.js"), "console.log(1)");
        var changed = Hash("<h1>v2</h1>");
        using var stub = new StubApi((request, body, _) => request.Method == HttpMethod.Post
            ? StubApi.Json($$"""{"missing":["{{changed}}","{{new string('f', 64)}}"]}""")
            : new HttpResponseMessage(HttpStatusCode.Created));
        using var client = new ApiClient(Api, "t0ken", null, stub);
        var deployer = new Deployer(client, new Terminal(rich: false));

        var hashed = await deployer.HashAsync(FileScanner.List(_root), Ct);
        var result = await deployer.UploadAsync("acme", hashed, Ct);

        Assert.Equal(new UploadResult(1, 11, 1), result);
        var asked = JsonNode.Parse(Encoding.UTF8.GetString(stub.Requests.First().Body))!["files"]!.AsArray();
        Assert.Equal(2, asked.Count);
        var put = Assert.Single(stub.Requests, r => r.Method == HttpMethod.Put);
        Assert.Equal($"/api/v1/orgs/acme/files/{changed}", put.Path);
        Assert.Equal("<h1>v2</h1>", Encoding.UTF8.GetString(put.Body));
        Assert.Equal(11, put.ContentLength);
        Assert.All(stub.Requests, r => Assert.Equal("t0ken", r.Authorization));
    }

    [Fact]
    public async Task A_dropped_log_stream_resumes_with_Last_Event_ID_and_prints_each_line_once()
    {
        using var stub = new StubApi((_, _, n) => n switch
        {
            1 => StubApi.EventStream(Line(1, "installing") + Line(2, "building")),
            2 => new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("proxy hiccup") },
            _ => StubApi.EventStream(Line(2, "building") + Line(3, "exit code 3") + "event: completed\ndata: {\"buildId\":\"b1\",\"status\":\"failed\"}\n\n"),
        });
        using var client = new ApiClient(Api, "t0ken", null, stub);
        var printed = new List<string>();

        var status = await new BuildLogFollower(client) { ReconnectDelay = TimeSpan.Zero }.FollowAsync("b1", line => printed.Add(line.Text), Ct);

        Assert.Equal("failed", status);
        Assert.Equal(["installing", "building", "exit code 3"], printed);
        var requests = stub.Requests.ToArray();
        Assert.Equal("/api/v1/builds/b1/logs?follow=true", requests[0].Path);
        Assert.Null(requests[0].LastEventId);
        Assert.Equal("2", requests[1].LastEventId);
        Assert.Equal("2", requests[2].LastEventId);
    }

    [Fact]
    public async Task A_log_that_keeps_failing_gives_up_naming_the_build()
    {
        using var stub = new StubApi((_, _, _) => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
        using var client = new ApiClient(Api, "t0ken", null, stub);

        var error = await Assert.ThrowsAsync<ApiException>(() =>
            new BuildLogFollower(client) { ReconnectDelay = TimeSpan.Zero, MaxReconnects = 2 }.FollowAsync("b9", _ => { }, Ct));

        Assert.Contains("b9", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, stub.Requests.Count);
    }

    [Fact]
    public async Task An_expired_session_is_renewed_once_with_its_refresh_token_and_the_new_pair_is_stored()
    {
        var store = new AuthStore(_root);
        store.Set(Api, new StoredCredentials { Email = "ada@example.com", AccessToken = "old", RefreshToken = "r1" });
        using var stub = new StubApi((request, body, _) => request.RequestUri!.AbsolutePath switch
        {
            "/api/v1/auth/refresh" when body.Contains("\"r1\"", StringComparison.Ordinal) =>
                StubApi.Json("""{"accessToken":"new","accessTokenExpiresAt":"2030-01-01T00:00:00Z","refreshToken":"r2","refreshTokenExpiresAt":"2030-01-07T00:00:00Z"}"""),
            "/api/v1/me" when request.Headers.Authorization?.Parameter == "new" => StubApi.Json("""{"email":"ada@example.com"}"""),
            _ => new HttpResponseMessage(HttpStatusCode.Unauthorized),
        });
        using var client = new ApiClient(Api, null, store, stub);

        var me = await client.GetAsync("api/v1/me", Ct);

        Assert.Equal("ada@example.com", Fields.Text(me, "email"));
        Assert.Equal(["/api/v1/me", "/api/v1/auth/refresh", "/api/v1/me"], stub.Requests.Select(r => r.Path).ToArray());
        var stored = store.Get(Api)!;
        Assert.Equal(("new", "r2"), (stored.AccessToken, stored.RefreshToken));
    }

    [Fact]
    public async Task A_refused_request_becomes_one_line_that_says_to_log_in_again()
    {
        using var stub = new StubApi((_, _, _) => StubApi.Json("""{"title":"Unauthorized","status":401}""", HttpStatusCode.Unauthorized));
        using var client = new ApiClient(Api, "bad", null, stub);

        var error = await Assert.ThrowsAsync<ApiException>(() => client.GetAsync("api/v1/me", Ct));

        Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
        Assert.Equal("GET /api/v1/me: Unauthorized (401 Unauthorized) (run deck login again)", error.Message);
    }

    private static string Line(long n, string text) =>
        $"id: {n}\nevent: line\ndata: {{\"buildId\":\"b1\",\"line\":{n},\"time\":\"2026-01-01T00:00:00Z\",\"stream\":\"stdout\",\"text\":\"{text}\"}}\n\n";

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
