using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace CloudDeck.Cli.Tests.Unit;

/// <summary>
/// An HTTP handler answering from a function, recording every request with its body, for the client-side logic that
/// must be checked before the server side of deploy exists (the process tests cover the real API).
/// </summary>
internal sealed class StubApi(Func<HttpRequestMessage, string, int, HttpResponseMessage> answer) : HttpMessageHandler
{
    private int _count;

    public ConcurrentQueue<(HttpMethod Method, string Path, string? Authorization, string? LastEventId, byte[] Body, long? ContentLength)> Requests { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var path = request.RequestUri!.PathAndQuery;
        Requests.Enqueue((request.Method, path, request.Headers.Authorization?.Parameter,
            request.Headers.TryGetValues("Last-Event-ID", out var ids) ? ids.Single() : null, body, request.Content?.Headers.ContentLength));
        var response = answer(request, Encoding.UTF8.GetString(body), Interlocked.Increment(ref _count));
        response.RequestMessage = request;
        return response;
    }

    public static HttpResponseMessage Json(string json, HttpStatusCode status = HttpStatusCode.OK) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    public static HttpResponseMessage EventStream(string wire) =>
        new(HttpStatusCode.OK) { Content = new StringContent(wire, Encoding.UTF8, "text/event-stream") };
}
