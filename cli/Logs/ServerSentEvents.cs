namespace CloudDeck.Cli.Logs;

/// <summary>One Server-Sent Event.</summary>
public sealed record ServerSentEvent(string? Id, string Event, string Data);

/// <summary>
/// The SSE wire format (html.spec.whatwg.org "event stream interpretation"), one line at a time: fields accumulate
/// until a blank line dispatches the event; comments (heartbeats) and <c>retry</c> are consumed here.
/// </summary>
public sealed class SseParser
{
    private string? _id;
    private string? _event;
    private List<string>? _data;

    /// <summary>The id of the last dispatched event that had one: what Last-Event-ID resumes from.</summary>
    public string? LastEventId { get; private set; }

    /// <summary>The server's reconnection delay, when it sent one.</summary>
    public TimeSpan? Retry { get; private set; }

    /// <returns>The event this blank line completes, or null.</returns>
    public ServerSentEvent? Feed(string line)
    {
        if (line.Length == 0) return Dispatch();
        if (line[0] == ':') return null;
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? "" : line[(colon + 1)..];
        if (value.StartsWith(' ')) value = value[1..];
        switch (field)
        {
            case "id" when !value.Contains('\0', StringComparison.Ordinal):
                _id = value;
                break;
            case "event":
                _event = value;
                break;
            case "data":
                (_data ??= []).Add(value);
                break;
            case "retry" when int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms):
                Retry = TimeSpan.FromMilliseconds(ms);
                break;
        }

        return null;
    }

    private ServerSentEvent? Dispatch()
    {
        if (_id is not null) LastEventId = _id;
        var result = _data is null ? null : new ServerSentEvent(_id ?? LastEventId, _event is { Length: > 0 } name ? name : "message", string.Join('\n', _data));
        _id = null;
        _event = null;
        _data = null;
        return result;
    }

    /// <summary>The events of a stream as they arrive; ends when the stream ends (an unfinished event is dropped, per the spec).</summary>
    public async IAsyncEnumerable<ServerSentEvent> ReadAsync(Stream stream,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (Feed(line) is { } completed) yield return completed;
        }
    }
}
