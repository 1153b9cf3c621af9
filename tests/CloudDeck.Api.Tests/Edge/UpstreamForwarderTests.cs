using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Api.Edge;

namespace CloudDeck.Api.Tests.Edge;

/// <summary>The edge's forwarding to a resolved upstream, against real node:http servers over real sockets.</summary>
public sealed class UpstreamForwarderTests : IAsyncLifetime
{
    private readonly List<NodeUpstream> _upstreams = [];
    private ForwardingHost _edge = null!;
    private HttpClient _http = null!;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private NodeUpstream Upstream => _upstreams[0];

    public async ValueTask InitializeAsync()
    {
        Need.Component(NodeUpstream.MissingReason);
        _upstreams.Add(await NodeUpstream.StartAsync(cancellationToken: Cancellation));
        _edge = await ForwardingHost.StartAsync(Upstream.Prefix);
        _http = new HttpClient { BaseAddress = _edge.Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_edge is not null) await _edge.DisposeAsync();
        foreach (var upstream in _upstreams) await upstream.DisposeAsync();
    }

    [Fact]
    public async Task A_chunked_response_reaches_the_client_chunk_by_chunk()
    {
        using var response = await _http.GetAsync("/chunked", HttpCompletionOption.ResponseHeadersRead, Cancellation);
        await using var body = await response.Content.ReadAsStreamAsync(Cancellation);
        using var reader = new StreamReader(body);

        // The upstream holds the last chunk until /release: a proxy that buffered the response would never show the first.
        Assert.Equal("first", await reader.ReadLineAsync(Cancellation));
        Assert.Equal("released", await _http.GetStringAsync("/release", Cancellation));
        Assert.Equal("last", await reader.ReadLineAsync(Cancellation));
        Assert.Null(await reader.ReadLineAsync(Cancellation));
        Assert.True(response.Headers.TransferEncodingChunked, "The upstream's chunked response stays chunked.");
    }

    [Fact]
    public async Task A_large_upload_streams_to_the_upstream_while_it_is_still_being_sent()
    {
        var content = new ProgressCheckedContent(_http, firstPart: 1024 * 1024, total: 64L * 1024 * 1024);

        using var response = await _http.PostAsync("/upload", content, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
        Assert.Equal(content.Total, received["bytes"]!.GetValue<long>());
        Assert.Equal(content.Sha256, received["sha256"]!.GetValue<string>());
        Assert.True(content.UpstreamSawFirstPart >= content.FirstPart,
            $"The upstream had {content.UpstreamSawFirstPart} of the first {content.FirstPart} bytes before the client sent the rest; a buffering proxy would show 0.");
    }

    [Fact]
    public async Task WebSocket_messages_are_echoed_through_the_proxy()
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{_edge.Address.Port}/socket"), Cancellation);

        Assert.Equal("echo:hello", await EchoAsync(socket, "hello"));
        var large = new string('x', 100_000);
        Assert.Equal("echo:" + large, await EchoAsync(socket, large));

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Cancellation);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task The_upstream_sees_forwarding_headers_from_the_edge_not_from_the_client()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/headers?q=1");
        request.Headers.Host = $"web-acme.localhost:{_edge.Address.Port}";
        // A client cannot choose the address, scheme or host the app believes.
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.66");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", "bank.example");
        request.Headers.TryAddWithoutValidation("Forwarded", "for=203.0.113.66");

        using var response = await _http.SendAsync(request, Cancellation);

        var seen = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
        Assert.Equal("127.0.0.1", seen["forwardedFor"]!.GetValue<string>());
        Assert.Equal("http", seen["forwardedProto"]!.GetValue<string>());
        Assert.Equal($"web-acme.localhost:{_edge.Address.Port}", seen["forwardedHost"]!.GetValue<string>());
        Assert.Equal($"web-acme.localhost:{_edge.Address.Port}", seen["host"]!.GetValue<string>());
        Assert.Null(seen["forwarded"]);
        Assert.Equal("/headers?q=1", seen["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_upstream_that_is_down_gets_the_502_page_naming_the_deployment_and_not_its_address()
    {
        await Upstream.StopAsync();

        using var response = await _http.GetAsync("/", Cancellation);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var page = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.Contains(ForwardingHost.DeploymentId, page, StringComparison.Ordinal);
        Assert.Contains("not accepting connections", page, StringComparison.Ordinal);
        Assert.DoesNotContain(Upstream.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), page, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", page, StringComparison.Ordinal);
        Assert.Equal([ForwardOutcome.Unreachable], _edge.Outcomes);
    }

    [Fact]
    public async Task A_refused_request_is_sent_once_more_to_the_server_restarted_on_another_port_body_and_all()
    {
        await Upstream.StopAsync();
        var retries = 0;
        _edge.RetryAt = async () =>
        {
            Interlocked.Increment(ref retries);
            var restarted = await NodeUpstream.StartAsync("v2", Cancellation);
            _upstreams.Add(restarted);
            return restarted.Prefix;
        };

        using var response = await _http.PostAsync("/upload", new StringContent("payload"), Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = JsonNode.Parse(await response.Content.ReadAsStringAsync(Cancellation))!;
        Assert.Equal("v2", received["label"]!.GetValue<string>());
        Assert.Equal(7, received["bytes"]!.GetValue<long>());
        Assert.Equal(1, retries);
        Assert.NotEqual(Upstream.Port, _upstreams[1].Port);
    }

    [Fact]
    public async Task A_second_refusal_is_not_retried_again_and_ends_in_the_502_page()
    {
        await Upstream.StopAsync();
        var retries = 0;
        _edge.RetryAt = () =>
        {
            Interlocked.Increment(ref retries);
            return Task.FromResult<string?>(Upstream.Prefix);
        };

        using var response = await _http.GetAsync("/", Cancellation);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(1, retries);
    }

    [Fact]
    public async Task An_upstream_silent_for_longer_than_the_proxy_timeout_gets_the_504_page()
    {
        await using var impatient = await ForwardingHost.StartAsync(Upstream.Prefix, new EdgeOptions { ProxyTimeout = TimeSpan.FromSeconds(1) });
        using var http = new HttpClient { BaseAddress = impatient.Address };

        using var response = await http.GetAsync("/hang", Cancellation);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains(ForwardingHost.DeploymentId, await response.Content.ReadAsStringAsync(Cancellation), StringComparison.Ordinal);
        Assert.Equal([ForwardOutcome.TimedOut], impatient.Outcomes);
    }

    private static async Task<string> EchoAsync(ClientWebSocket socket, string message)
    {
        await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, endOfMessage: true, Cancellation);
        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, Cancellation);
            received.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return Encoding.UTF8.GetString(received.ToArray());
    }

    /// <summary>
    /// A request body that sends <see cref="FirstPart"/> bytes, then waits until the upstream reports (through the
    /// proxy, on another request) that it received them, then sends the rest: proof that the edge streams uploads.
    /// </summary>
    private sealed class ProgressCheckedContent(HttpClient http, int firstPart, long total) : HttpContent
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public int FirstPart => firstPart;

        public long Total => total;

        public long UpstreamSawFirstPart { get; private set; }

        public string Sha256 { get; private set; } = "";

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var block = new byte[64 * 1024];
            Random.Shared.NextBytes(block);
            long sent = 0;
            while (sent < total)
            {
                var size = (int)Math.Min(block.Length, total - sent);
                await stream.WriteAsync(block.AsMemory(0, size), Cancellation);
                _hash.AppendData(block, 0, size);
                sent += size;
                if (sent == firstPart)
                {
                    await stream.FlushAsync(Cancellation);
                    UpstreamSawFirstPart = await WaitForUpstreamAsync();
                }
            }

            Sha256 = Convert.ToHexStringLower(_hash.GetHashAndReset());
        }

        private async Task<long> WaitForUpstreamAsync()
        {
            // Bounded: a proxy that holds the body back fails the assertion instead of hanging the test. What the upstream
            // had by then is answered, so a failure tells a proxy that held everything (0) from one that held a tail.
            long progress = 0;
            for (var attempt = 0; attempt < 300; attempt++)
            {
                progress = long.Parse(await http.GetStringAsync("/progress", Cancellation), System.Globalization.CultureInfo.InvariantCulture);
                if (progress >= firstPart) return progress;
                await Task.Delay(100, Cancellation);
            }

            return progress;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = total;
            return true;
        }
    }
}
