using System.Text;
using System.Text.Json.Nodes;

namespace CloudDeck.Api.Tests.Logs;

/// <summary>
/// Just enough of SignalR's long-polling transport and JSON hub protocol to drive the hub from .NET in-process (the
/// SignalR .NET client does not restore from this feed): negotiate, handshake, invoke, read messages, close.
/// </summary>
internal sealed class LongPollingHubClient : IAsyncDisposable
{
    private const char RecordSeparator = '\u001e';
    private readonly HttpClient _http;
    private readonly string _token;
    private readonly string _connection;
    private readonly Queue<JsonNode> _received = new();
    private readonly Queue<JsonNode> _pending = new();
    private int _invocations;

    private LongPollingHubClient(HttpClient http, string token, string connection)
    {
        _http = http;
        _token = token;
        _connection = connection;
    }

    public static async Task<LongPollingHubClient> ConnectAsync(HttpClient http, string accessToken, CancellationToken cancellationToken)
    {
        using var negotiate = await Send(http, accessToken, HttpMethod.Post, "/hubs/logs/negotiate?negotiateVersion=1", null, cancellationToken);
        var connection = JsonNode.Parse(await negotiate.Content.ReadAsStringAsync(cancellationToken))!["connectionToken"]!.GetValue<string>();
        var client = new LongPollingHubClient(http, accessToken, connection);
        using (await client.Send(HttpMethod.Get, null, cancellationToken))
        {
            // The first poll only opens the connection.
        }

        await client.SendMessageAsync("""{"protocol":"json","version":1}""", cancellationToken);
        var handshake = await client.NextAsync(cancellationToken);
        Assert.True(handshake["error"] is null, $"Handshake refused: {handshake.ToJsonString()}");
        return client;
    }

    /// <summary>Calls a hub method and answers its result (or, with <paramref name="expectError"/>, its error message).</summary>
    public async Task<JsonNode?> InvokeAsync(string target, object[] arguments, CancellationToken cancellationToken, bool expectError = false)
    {
        var id = (++_invocations).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await SendMessageAsync(System.Text.Json.JsonSerializer.Serialize(new { type = 1, invocationId = id, target, arguments }), cancellationToken);
        while (true)
        {
            var message = await NextAsync(cancellationToken);
            if (message["type"]?.GetValue<int>() != 3 || message["invocationId"]?.GetValue<string>() != id)
            {
                _received.Enqueue(message);
                continue;
            }

            Assert.True(expectError == message["error"] is not null, $"{target} answered {message.ToJsonString()}");
            return expectError ? message["error"] : message["result"];
        }
    }

    /// <summary>Messages up to and including the next invocation of <paramref name="target"/> by the server.</summary>
    public async Task<IReadOnlyList<JsonNode>> NextMessageAsync(string target, CancellationToken cancellationToken)
    {
        var seen = new List<JsonNode>();
        while (true)
        {
            var message = _received.Count > 0 ? _received.Dequeue() : await NextAsync(cancellationToken);
            seen.Add(message);
            if (message["type"]?.GetValue<int>() == 1 && message["target"]?.GetValue<string>() == target) return seen;
        }
    }

    public async Task CloseAsync(CancellationToken cancellationToken)
    {
        using (await Send(HttpMethod.Delete, null, cancellationToken))
        {
        }
    }

    private async Task<JsonNode> NextAsync(CancellationToken cancellationToken)
    {
        while (_pending.Count == 0)
        {
            using var poll = await Send(HttpMethod.Get, null, cancellationToken);
            var text = await poll.Content.ReadAsStringAsync(cancellationToken);
            foreach (var record in text.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var message = JsonNode.Parse(record)!;
                if (message["type"]?.GetValue<int>() != 6) _pending.Enqueue(message); // 6: ping
            }
        }

        return _pending.Dequeue();
    }

    private Task SendMessageAsync(string json, CancellationToken cancellationToken) =>
        Send(HttpMethod.Post, json + RecordSeparator, cancellationToken).ContinueWith(t => t.Result.Dispose(), cancellationToken);

    private Task<HttpResponseMessage> Send(HttpMethod method, string? body, CancellationToken cancellationToken) =>
        Send(_http, _token, method, $"/hubs/logs?id={Uri.EscapeDataString(_connection)}", body, cancellationToken);

    private static async Task<HttpResponseMessage> Send(HttpClient http, string token, HttpMethod method, string path, string? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new("Bearer", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        var response = await http.SendAsync(request, cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        return response;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await CloseAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is HttpRequestException or Xunit.Sdk.XunitException)
        {
            // Already closed.
        }
    }
}
