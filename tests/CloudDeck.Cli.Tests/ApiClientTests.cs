using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Api.Tests;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Config;
using CloudDeck.Cli.Deploy;
using CloudDeck.Cli.Logs;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Tests;

/// <summary>
/// deck's HTTP logic against the real API process: uploads only what the API lacks, resumes a dropped log, renews an
/// expired session. Dropped connections are injected in the client's transport (<see cref="DroppingTransport"/>),
/// between deck and the real server, the way a proxy's idle timeout or a network blip cuts them.
/// </summary>
public sealed class ApiClientTests : DeckProcessTest
{
    private static readonly Dictionary<string, string?> ShortSessions = new() { ["CloudDeck__Auth__AccessTokenLifetime"] = "00:00:01" };

    [Fact]
    public async Task Only_the_contents_the_API_lacks_are_uploaded_and_afterwards_it_lacks_none()
    {
        var api = await StartApiAsync();
        var user = await SignUpAsync(api, "ada@example.com");
        using (var seed = new HttpRequestMessage(HttpMethod.Put, $"api/v1/orgs/{user.Organization}/files/{Hash("console.log(1)")}"))
        {
            seed.Headers.Authorization = new("Bearer", user.AccessToken);
            seed.Content = new ByteArrayContent(Encoding.UTF8.GetBytes("console.log(1)"));
            using var stored = await api.Http.SendAsync(seed, Cancellation);
            Assert.True(stored.IsSuccessStatusCode, $"seeding the store answered {(int)stored.StatusCode}");
        }

        File.WriteAllText(Path.Combine(Work, "index.html"), "<h1>v2</h1>");
        File.WriteAllText(Path.Combine(Work, "app.js"), "console.log(1)");
        File.WriteAllText(Path.Combine(Work, "same.js"), "console.log(1)");
        var transport = new DroppingTransport();
        using var client = new ApiClient(api.BaseAddress, user.AccessToken, null, transport);
        var deployer = new Deployer(client, new Terminal(rich: false));

        var hashed = await deployer.HashAsync(FileScanner.List(Work), Cancellation);
        var first = await deployer.UploadAsync(user.Organization, hashed, Cancellation);
        var second = await deployer.UploadAsync(user.Organization, hashed, Cancellation);

        Assert.Equal(new UploadResult(1, 11, 1), first);
        Assert.Equal(new UploadResult(0, 0, 2), second);
        var put = Assert.Single(transport.Requests, r => r.Method == HttpMethod.Put);
        Assert.Equal($"/api/v1/orgs/{user.Organization}/files/{Hash("<h1>v2</h1>")}", put.Path);
    }

    [Fact]
    public async Task A_dropped_log_stream_resumes_with_Last_Event_ID_and_prints_each_line_once()
    {
        var api = await StartApiAsync();
        var user = await SignUpAsync(api, "ada@example.com");
        var buildId = await StartSyntheticBuildAsync(api, user, lines: 300, linesPerSecond: 200);
        var transport = new DroppingTransport { DropLogStreamAfterBytes = 4_000, DropLogStreams = 2 };
        using var client = new ApiClient(api.BaseAddress, user.AccessToken, null, transport);
        var printed = new List<long>();

        var status = await new BuildLogFollower(client) { ReconnectDelay = TimeSpan.FromMilliseconds(50) }
            .FollowAsync(buildId, line => printed.Add(line.Number), Cancellation);

        Assert.Equal("succeeded", status);
        Assert.Equal(Enumerable.Range(1, 300).Select(n => (long)n), printed);
        var follows = transport.Requests.Where(r => r.Path.Contains("/logs", StringComparison.Ordinal)).ToArray();
        Assert.True(follows.Length >= 3, $"expected the stream to be resumed twice, saw {follows.Length} requests");
        Assert.Null(follows[0].LastEventId);
        Assert.All(follows.Skip(1), r => Assert.NotNull(r.LastEventId));
        Assert.Equal(transport.LastLineBeforeDrop, follows.Skip(1).Select(r => long.Parse(r.LastEventId!)).Take(transport.LastLineBeforeDrop.Count));
    }

    [Fact]
    public async Task A_log_whose_API_is_gone_gives_up_naming_the_build()
    {
        var api = await StartApiAsync();
        var user = await SignUpAsync(api, "ada@example.com");
        var address = api.BaseAddress;
        await api.DisposeAsync();
        using var client = new ApiClient(address, user.AccessToken, null);

        var error = await Assert.ThrowsAsync<ApiException>(() =>
            new BuildLogFollower(client) { ReconnectDelay = TimeSpan.Zero, MaxReconnects = 2 }.FollowAsync("b9", _ => { }, Cancellation));

        Assert.Contains("b9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_session_is_renewed_once_with_its_refresh_token_and_the_new_pair_is_stored()
    {
        var api = await StartApiAsync(ShortSessions);
        var user = await SignUpAsync(api, "ada@example.com");
        using var login = await api.Http.PostAsJsonAsync("api/v1/auth/login", new { email = user.Email, password = Password }, Cancellation);
        var session = await ExpectAsync(login, HttpStatusCode.OK);
        var (access, refresh) = (session["access_token"]!.GetValue<string>(), session["refresh_token"]!.GetValue<string>());
        var store = new AuthStore(ConfigDirectory);
        store.Set(api.BaseAddress, new StoredCredentials { Email = user.Email, AccessToken = access, RefreshToken = refresh });
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation); // the access token lives 1 s here
        var transport = new DroppingTransport();
        using var client = new ApiClient(api.BaseAddress, null, store, transport);

        var me = await client.GetAsync("api/v1/me", Cancellation);

        Assert.Equal(user.Email, Fields.Text(me, "email"));
        Assert.Equal(["/api/v1/me", "/api/v1/auth/refresh", "/api/v1/me"], transport.Requests.Select(r => r.Path).ToArray());
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.OK], transport.Requests.Select(r => r.Status).ToArray());
        var stored = store.Get(api.BaseAddress)!;
        Assert.NotEqual(access, stored.AccessToken);
        Assert.NotEqual(refresh, stored.RefreshToken);
    }

    [Fact]
    public async Task A_list_is_read_page_after_page_by_its_cursor_up_to_the_count_asked_for()
    {
        var api = await StartApiAsync();
        var user = await SignUpAsync(api, "ada@example.com");
        var transport = new DroppingTransport();
        using var client = new ApiClient(api.BaseAddress, user.AccessToken, null, transport);
        var project = $"api/v1/orgs/{user.Organization}/projects/web";
        await client.PostAsync($"api/v1/orgs/{user.Organization}/projects", new JsonObject { ["name"] = "web" }, Cancellation);
        var names = Enumerable.Range(0, 130).Select(i => $"VAR_{i:D3}").ToList();
        foreach (var name in names) await client.SendAsync(HttpMethod.Put, $"{project}/env/production/{name}", new JsonObject { ["value"] = "v" }, Cancellation);

        var all = await client.ListAsync($"{project}/env", cancellationToken: Cancellation);
        var some = await client.ListAsync($"{project}/env", max: 30, Cancellation);

        Assert.Equal(names, all.Select(v => Fields.Text(v, "name")));
        Assert.Equal(names.Take(30), some.Select(v => Fields.Text(v, "name")));
        // 130 in pages of the API's largest (100): two requests; 30 in one.
        Assert.Equal(3, transport.Requests.Count(r => r.Method == HttpMethod.Get && r.Path.EndsWith("/env", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_refused_request_becomes_one_line_that_says_to_log_in_again()
    {
        var api = await StartApiAsync();
        using var client = new ApiClient(api.BaseAddress, "not-a-token", null);

        var error = await Assert.ThrowsAsync<ApiException>(() => client.GetAsync("api/v1/me", Cancellation));

        Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
        Assert.Contains("(401)", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("(run deck login again)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    private static async Task<string> StartSyntheticBuildAsync(ApiHost api, DeckUser user, int lines, int linesPerSecond)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "_diag/builds");
        request.Headers.Authorization = new("Bearer", user.AccessToken);
        request.Content = JsonContent.Create(new { org = user.Organization, lines, lines_per_second = linesPerSecond });
        using var response = await api.Http.SendAsync(request, Cancellation);
        return (await ExpectAsync(response, HttpStatusCode.Created))["id"]!.GetValue<string>();
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// The client's real socket transport, recording each request and its answer's status, and cutting the first
    /// <see cref="DropLogStreams"/> log streams after <see cref="DropLogStreamAfterBytes"/> bytes mid-line, as a network
    /// drop would; it notes the last complete line id each cut stream had delivered.
    /// </summary>
    private sealed class DroppingTransport() : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _dropped;

        public int DropLogStreamAfterBytes { get; init; }

        public int DropLogStreams { get; init; }

        public ConcurrentQueue<(HttpMethod Method, string Path, string? LastEventId, HttpStatusCode Status)> Requests { get; } = new();

        public List<long> LastLineBeforeDrop { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Requests.Enqueue((request.Method, request.RequestUri!.AbsolutePath, request.Headers.TryGetValues("Last-Event-ID", out var ids) ? ids.Single() : null, response.StatusCode));
            if (request.RequestUri.AbsolutePath.EndsWith("/logs", StringComparison.Ordinal) && response.IsSuccessStatusCode
                && DropLogStreamAfterBytes > 0 && Interlocked.Increment(ref _dropped) <= DropLogStreams)
            {
                var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                var cut = new CuttingStream(body, DropLogStreamAfterBytes, LastLineBeforeDrop);
                var content = new StreamContent(cut);
                foreach (var header in response.Content.Headers) content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                response.Content = content;
            }

            return response;
        }
    }

    /// <summary>Passes <c>limit</c> bytes through, then fails the read like a reset connection.</summary>
    private sealed class CuttingStream(Stream inner, int limit, List<long> lastIds) : Stream
    {
        private readonly StringBuilder _seen = new();
        private int _passed;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_passed >= limit)
            {
                lock (lastIds) lastIds.Add(LastCompleteId(_seen.ToString()));
                throw new IOException("connection reset (injected by the test)");
            }

            var read = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, limit - _passed)], cancellationToken);
            _seen.Append(Encoding.UTF8.GetString(buffer.Span[..read]));
            _passed += read;
            return read;
        }

        /// <summary>The id of the last event whose blank-line terminator was passed through.</summary>
        private static long LastCompleteId(string wire)
        {
            var complete = wire[..(wire.LastIndexOf("\n\n", StringComparison.Ordinal) + 1)];
            var at = complete.LastIndexOf("id: ", StringComparison.Ordinal);
            return at < 0 ? 0 : long.Parse(complete[(at + 4)..complete.IndexOf('\n', at)], System.Globalization.CultureInfo.InvariantCulture);
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
