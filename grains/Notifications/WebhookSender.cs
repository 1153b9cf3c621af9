using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace CloudDeck.Grains.Notifications;

/// <summary>The outcome of one POST: the answer's status (null when none came), how long it took, and why it failed.</summary>
public sealed record WebhookAttemptResult(int? ResponseCode, long DurationMs, string? Error)
{
    public bool Succeeded => ResponseCode is >= 200 and < 300;
}

/// <summary>A connection refused by <see cref="WebhookTargets"/> at send time.</summary>
public sealed class WebhookTargetRefusedException(string message) : IOException(message);

/// <summary>
/// POSTs webhook bodies. Its connections are made by <see cref="ConnectAsync"/>: the host is resolved and checked there
/// and the socket connects to exactly the addresses checked, so a DNS answer that changed since the rule was added
/// cannot lead into the platform's network. No redirects are followed (a 3xx is a failed attempt), no proxy is used.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    private readonly HttpClient _http;
    private readonly WebhookTargets _targets;

    public WebhookSender(NotificationOptions options, WebhookTargets targets)
    {
        _targets = targets;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = ConnectAsync,
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            // A pooled connection was checked when it was made; renewing it now and then re-checks the name.
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectTimeout = options.RequestTimeout,
        };
        _http = new HttpClient(handler) { Timeout = options.RequestTimeout };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("CloudDeck-Webhooks/1");
    }

    /// <summary><c>v1=</c> + hex HMAC-SHA256 of <c>timestamp + "." + body</c>, keyed with the secret's UTF-8 bytes.</summary>
    public static string Sign(string secret, long timestamp, string body) =>
        "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp}.{body}")));

    public async Task<WebhookAttemptResult> PostAsync(Uri url, string body, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var code = (int)response.StatusCode;
            return new WebhookAttemptResult(code, watch.ElapsedMilliseconds, response.IsSuccessStatusCode ? null : $"answered {code} {response.ReasonPhrase}");
        }
        catch (HttpRequestException e)
        {
            return new WebhookAttemptResult(null, watch.ElapsedMilliseconds, Describe(e));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WebhookAttemptResult(null, watch.ElapsedMilliseconds, $"no answer within {_http.Timeout.TotalSeconds:0.#} s");
        }
    }

    public void Dispose() => _http.Dispose();

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var check = await _targets.CheckAsync(context.DnsEndPoint.Host, cancellationToken);
        if (check.Refusal is { } refusal) throw new WebhookTargetRefusedException("refused: the URL's host " + refusal);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync([.. check.Addresses], context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The innermost message that says what went wrong (a refusal, "Connection refused"…), never a header or body.</summary>
    private static string Describe(HttpRequestException e)
    {
        Exception inner = e;
        while (inner.InnerException is not null && inner is not WebhookTargetRefusedException) inner = inner.InnerException;
        return inner.Message;
    }
}
