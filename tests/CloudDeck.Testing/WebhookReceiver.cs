using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CloudDeck.Testing;

/// <summary>One POST the receiver got, and whether its signature held.</summary>
/// <param name="SignatureValid">The signature header matched HMAC-SHA256(secret, timestamp + "." + body) as a receiver computes it.</param>
public sealed record ReceivedWebhook(
    DateTimeOffset At,
    string Path,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    bool SignatureValid,
    int AnsweredWith);

/// <summary>
/// A real webhook receiver (Kestrel on loopback) as a CloudDeck user would write one: it checks each POST's signature
/// with the endpoint's secret the way docs/notifications.md tells receivers to, records it, and answers with the next
/// status of a script (500, 500, 200… then 200 for ever), so tests can make deliveries fail and be retried.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<int> _script = new();
    private readonly List<ReceivedWebhook> _received = [];
    private WebApplication? _app;

    /// <summary>The endpoint's signing secret, as its creation answered it; until set, every signature counts as invalid.</summary>
    public string? Secret { get; set; }

    /// <summary>
    /// The receiver's clock for the timestamp's freshness (five minutes either way). A test whose silo runs on a manual
    /// clock hands it that clock, as a real receiver's clock agrees with the sender's.
    /// </summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    /// <summary>What to answer once the script is used up.</summary>
    public int DefaultStatus { get; set; } = 200;

    public Uri Url { get; private set; } = null!;

    public int Port => Url.Port;

    public IReadOnlyList<ReceivedWebhook> Received
    {
        get
        {
            lock (_received) return [.. _received];
        }
    }

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        (receiver._app, var root) = await LoopbackHttpServer.StartAsync(receiver.ServeAsync);
        receiver.Url = new Uri(root, "hook");
        return receiver;
    }

    /// <summary>The statuses to answer next, in order.</summary>
    public void Answer(params int[] statuses)
    {
        foreach (var status in statuses) _script.Enqueue(status);
    }

    /// <summary>Waits until <paramref name="count"/> requests were answered with a 2xx.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForSuccessesAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (DateTimeOffset.UtcNow < deadline)
        {
            var received = Received;
            if (received.Count(r => r.AnsweredWith is >= 200 and < 300) >= count) return received;
            await Task.Delay(20);
        }

        throw new TimeoutException($"The receiver got {Received.Count} requests, not {count} answered with 2xx, within {timeout}.");
    }

    /// <summary>The check a receiver makes: v1= hex HMAC-SHA256 over timestamp + "." + body, compared in constant time.</summary>
    public static bool Verify(string secret, string? timestamp, string? signature, string body) =>
        Verify(secret, timestamp, signature, body, DateTimeOffset.UtcNow);

    /// <param name="now">The receiver's time, which the timestamp must be within five minutes of.</param>
    public static bool Verify(string secret, string? timestamp, string? signature, string body, DateTimeOffset now)
    {
        if (timestamp is null || signature is null || !signature.StartsWith("v1=", StringComparison.Ordinal)) return false;
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body));
        byte[] given;
        try
        {
            given = Convert.FromHexString(signature.AsSpan(3));
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, given)
               && long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
               && Math.Abs(now.ToUnixTimeSeconds() - seconds) <= 300;
    }

    private async Task ServeAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var valid = Secret is { } secret && Verify(secret, headers.GetValueOrDefault("CloudDeck-Timestamp"), headers.GetValueOrDefault("CloudDeck-Signature"), body,
            Clock.GetUtcNow());
        var status = _script.TryDequeue(out var next) ? next : DefaultStatus;
        lock (_received) _received.Add(new ReceivedWebhook(DateTimeOffset.UtcNow, context.Request.Path, headers, body, valid, status));
        context.Response.StatusCode = status;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
