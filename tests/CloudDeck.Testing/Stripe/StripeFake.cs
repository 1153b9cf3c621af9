using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace CloudDeck.Testing.Stripe;

/// <summary>
/// A stand-in for Stripe, which these machines cannot reach: a real HTTP server (Kestrel on loopback) that speaks Stripe's
/// documented wire format for exactly the endpoints CloudDeck calls, at Stripe API version <see cref="ApiVersion"/>
/// (the version Stripe.net 53.1.0 sends in <c>Stripe-Version</c>): form-encoded requests with bracketed keys
/// (<c>line_items[0][price]</c>), JSON answers, <c>Authorization: Bearer sk_…</c>, <c>Idempotency-Key</c> honoured (a
/// repeat answers the first answer with <c>Idempotent-Replayed: true</c>; other parameters under the same key are a
/// 400 <c>idempotency_error</c>), errors as <c>{"error":{"type","code","message","param"}}</c>. Endpoints:
/// <c>POST /v1/customers</c>, <c>POST /v1/checkout/sessions</c>, <c>POST /v1/billing_portal/sessions</c>,
/// <c>GET|POST /v1/subscriptions/{id}</c>, <c>POST /v1/billing/meter_events</c> (an identifier counts once; a repeat is
/// a 400 <c>resource_already_exists</c>; timestamps within the past 35 days and at most 5 minutes ahead).
/// Webhooks are signed with Stripe's scheme (<c>Stripe-Signature: t={unix},v1={hex HMAC-SHA256(secret, "{t}.{body}")}</c>)
/// and posted to <see cref="WebhookUrl"/>. What a customer does in Stripe's pages (paying at Checkout, a card that fails,
/// the end of a period) the test does through the methods of <see cref="StripeFake"/> (StripeFake.Control.cs).
/// </summary>
public sealed partial class StripeFake : IAsyncDisposable
{
    public const string ApiVersion = "2026-10-28.endive";
    public const string SecretKey = "sk_test_clouddeckfake0123456789";
    public const string WebhookSecret = "whsec_clouddeckfake0123456789";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Fingerprint, int Status, string Body)> _idempotent = new(StringComparer.Ordinal);
    private WebApplication? _app;
    private long _ids;

    private StripeFake(TimeProvider clock, HttpClient webhookClient)
    {
        Clock = clock;
        _webhookClient = webhookClient;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Stripe's clock: <c>created</c> of objects and events, webhook signatures, the meter events' window.</summary>
    public TimeProvider Clock { get; }

    /// <summary>Where events are posted; null keeps them in <see cref="Events"/> only.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>When true, events are created but not delivered (a test delivers them in the order it wants).</summary>
    public bool HoldWebhooks { get; set; }

    /// <summary>Requests answered (replays included), by "METHOD /path".</summary>
    public int Requests => Volatile.Read(ref _requests);

    private int _requests;

    public static async Task<StripeFake> StartAsync(TimeProvider? clock = null)
    {
        var fake = new StripeFake(clock ?? TimeProvider.System, new HttpClient { Timeout = TimeSpan.FromSeconds(30) });
        (fake._app, fake.BaseAddress) = await LoopbackHttpServer.StartAsync(fake.ServeAsync);
        fake.AddDefaultPrices();
        return fake;
    }

    /// <summary>CloudDeck's <c>CloudDeck:Billing:*</c> settings for this fake and its default prices.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["CloudDeck:Billing:Stripe:SecretKey"] = SecretKey,
        ["CloudDeck:Billing:Stripe:WebhookSecret"] = WebhookSecret,
        ["CloudDeck:Billing:Stripe:ApiBase"] = BaseAddress.ToString(),
        ["CloudDeck:Billing:Plans:Pro:PriceId"] = ProPrice,
        ["CloudDeck:Billing:Plans:Team:PriceId"] = TeamPrice,
        ["CloudDeck:Billing:Usage:build_minutes:PriceId"] = "price_build_minutes",
        ["CloudDeck:Billing:Usage:edge_bytes_served:PriceId"] = "price_edge_bytes_served",
        ["CloudDeck:Billing:Usage:storage_byte_hours:PriceId"] = "price_storage_byte_hours",
    };

    /// <summary>The same as environment variables, for child processes.</summary>
    public Dictionary<string, string?> Environment() => Settings().ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);

    private async Task ServeAsync(HttpContext http)
    {
        Interlocked.Increment(ref _requests);
        var (status, body, replayed) = await AnswerAsync(http.Request);
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.Headers["Request-Id"] = "req_" + NextId();
        http.Response.Headers["Stripe-Version"] = ApiVersion;
        if (replayed) http.Response.Headers["Idempotent-Replayed"] = "true";
        await http.Response.WriteAsync(body);
    }

    private async Task<(int Status, string Body, bool Replayed)> AnswerAsync(HttpRequest request)
    {
        if (request.Headers.Authorization.ToString() != "Bearer " + SecretKey)
        {
            return (401, Error("invalid_request_error", null, "Invalid API Key provided.", null), false);
        }

        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        if (request.HasFormContentType)
        {
            foreach (var (name, value) in await request.ReadFormAsync()) form[name] = value.ToString();
        }

        foreach (var (name, value) in request.Query) form.TryAdd(name, value.ToString());
        var route = $"{request.Method} {request.Path}";
        var key = request.Headers["Idempotency-Key"].ToString();
        var fingerprint = route + "\n" + string.Join("&", form.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key}={f.Value}"));
        if (request.Method == "POST" && key.Length > 0)
        {
            lock (_gate)
            {
                if (_idempotent.TryGetValue(key, out var earlier))
                {
                    return earlier.Fingerprint == fingerprint
                        ? (earlier.Status, earlier.Body, true)
                        : (400, Error("idempotency_error", null, $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request.", null), false);
                }
            }
        }

        (int Status, string Body) answer;
        try
        {
            answer = Route(request.Method, request.Path.Value ?? "", form);
        }
        catch (FakeStripeError e)
        {
            answer = (e.Status, Error(e.Type, e.Code, e.Message, e.Param));
        }

        // Stripe keeps the answer of an idempotent request unless it failed before doing anything (a 5xx is not saved either).
        if (request.Method == "POST" && key.Length > 0 && answer.Status < 500)
        {
            lock (_gate) _idempotent.TryAdd(key, (fingerprint, answer.Status, answer.Body));
        }

        return (answer.Status, answer.Body, false);
    }

    private (int, string) Route(string method, string path, Dictionary<string, string> form)
    {
        var parts = path.Trim('/').Split('/');
        return (method, parts) switch
        {
            ("POST", ["v1", "customers"]) => Ok(CreateCustomer(form)),
            ("POST", ["v1", "checkout", "sessions"]) => Ok(CreateCheckoutSession(form)),
            ("POST", ["v1", "billing_portal", "sessions"]) => Ok(CreatePortalSession(form)),
            ("GET", ["v1", "subscriptions", var id]) => Ok(SubscriptionJson(Subscription(id))),
            ("POST", ["v1", "subscriptions", var id]) => Ok(UpdateSubscription(id, form)),
            ("POST", ["v1", "billing", "meter_events"]) => Ok(CreateMeterEvent(form)),
            _ => (404, Error("invalid_request_error", null, $"Unrecognized request URL ({method}: {path}).", null)),
        };
    }

    private static (int, string) Ok(JsonNode node) => (200, node.ToJsonString());

    private static string Error(string type, string? code, string message, string? param)
    {
        var error = new JsonObject { ["type"] = type, ["message"] = message };
        if (code is not null) error["code"] = code;
        if (param is not null) error["param"] = param;
        return new JsonObject { ["error"] = error }.ToJsonString();
    }

    private string NextId() => Interlocked.Increment(ref _ids).ToString("D8", CultureInfo.InvariantCulture) + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    private long Unix(DateTimeOffset time) => time.ToUnixTimeSeconds();

    private long NowUnix => Clock.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>Stripe's signature header for <paramref name="payload"/> at <paramref name="timestamp"/> under <paramref name="secret"/>.</summary>
    public static string Sign(string payload, long timestamp, string secret = WebhookSecret)
    {
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp.ToString(CultureInfo.InvariantCulture)}.{payload}"));
        return $"t={timestamp.ToString(CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(signature)}";
    }

    public async ValueTask DisposeAsync()
    {
        _webhookClient.Dispose();
        if (_app is not null) await _app.DisposeAsync();
    }

    private sealed class FakeStripeError(int status, string type, string? code, string message, string? param) : Exception(message)
    {
        public int Status { get; } = status;

        public string Type { get; } = type;

        public string? Code { get; } = code;

        public string? Param { get; } = param;
    }

    private static FakeStripeError Missing(string what, string id, string param) =>
        new(404, "invalid_request_error", "resource_missing", $"No such {what}: '{id}'", param);

    private static FakeStripeError Invalid(string param, string message, string? code = "parameter_invalid") => new(400, "invalid_request_error", code, message, param);
}
