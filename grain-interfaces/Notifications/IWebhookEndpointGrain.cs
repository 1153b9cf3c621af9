using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Notifications;

/// <summary>
/// One webhook or Slack rule's deliveries (keyed "{organization}/{rule id}"): the queue, retries with exponential
/// backoff for up to a day (reminder-driven, so they survive restarts), the delivery log and manual redelivery.
/// Reading and redelivering need <see cref="Organizations.OrganizationActions.ManageNotifications"/>.
/// </summary>
[Alias("clouddeck.IWebhookEndpointGrain")]
public interface IWebhookEndpointGrain : IGrainWithStringKey
{
    /// <summary>Platform-internal: set up by the rules grain when the rule is added (the URL was checked there).</summary>
    Task Configure(WebhookEndpointConfig config);

    /// <summary>Platform-internal: the rule is gone; pending deliveries stop.</summary>
    Task Remove();

    /// <summary>Platform-internal: turns a disabled endpoint back on.</summary>
    Task Enable();

    /// <summary>Queues one delivery of the event and tries it at once (outside the caller's call).</summary>
    Task Deliver(NotificationEvent notification);

    /// <summary>The newest deliveries first; <paramref name="before"/> continues after a page's last delivery.</summary>
    [ReadOnly]
    Task<WebhookDeliveryPage> ListDeliveries(Caller caller, long? before, int limit);

    /// <summary>Sends a delivery's event again as a new delivery with the same event id and body (freshly signed).</summary>
    Task<WebhookDeliveryView> Redeliver(Caller caller, string deliveryId);
}

/// <param name="UrlCiphertext">The URL, encrypted (a Slack URL is a credential).</param>
/// <param name="SecretCiphertext">The signing secret, encrypted; null for Slack.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.WebhookEndpointConfig")]
public sealed record WebhookEndpointConfig(
    [property: Id(0)] string Channel,
    [property: Id(1)] string UrlCiphertext,
    [property: Id(2)] string? SecretCiphertext);

public static class WebhookDeliveryStatuses
{
    /// <summary>Not delivered yet; <see cref="WebhookDeliveryView.NextAttemptAt"/> says when it is tried again.</summary>
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";

    /// <summary>Given up: the retry window passed, or the endpoint was disabled or removed.</summary>
    public const string Failed = "failed";
}

[GenerateSerializer, Immutable, Alias("clouddeck.WebhookAttemptView")]
public sealed record WebhookAttemptView(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] int? ResponseCode,
    [property: Id(2)] long DurationMs,
    [property: Id(3)] string? Error);

/// <param name="Sequence">The delivery's place in the endpoint's log (from 1); pages continue before it.</param>
/// <param name="RedeliveryOf">The delivery this one repeats, for a manual redelivery.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.WebhookDeliveryView")]
public sealed record WebhookDeliveryView(
    [property: Id(0)] string Id,
    [property: Id(1)] long Sequence,
    [property: Id(2)] string EventId,
    [property: Id(3)] string EventType,
    [property: Id(4)] string Status,
    [property: Id(5)] int? ResponseCode,
    [property: Id(6)] long? DurationMs,
    [property: Id(7)] DateTimeOffset CreatedAt,
    [property: Id(8)] DateTimeOffset? NextAttemptAt,
    [property: Id(9)] IReadOnlyList<WebhookAttemptView> Attempts,
    [property: Id(10)] string? RedeliveryOf);

[GenerateSerializer, Immutable, Alias("clouddeck.WebhookDeliveryPage")]
public sealed record WebhookDeliveryPage([property: Id(0)] IReadOnlyList<WebhookDeliveryView> Items, [property: Id(1)] long? NextCursor);

/// <summary>Delivery ids: "dlv_" and 16 lower-case hex digits.</summary>
public static class WebhookDeliveryIds
{
    public const string Rule = "a delivery id is dlv_ and 16 lower-case hex digits";

    public static string New() => "dlv_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public static bool IsWellFormed(string? value) =>
        value is { Length: 20 } && value.StartsWith("dlv_", StringComparison.Ordinal) && value.AsSpan(4).IndexOfAnyExcept("0123456789abcdef") < 0;
}

/// <summary>The headers every webhook delivery carries, for receivers.</summary>
public static class WebhookHeaders
{
    public const string EventId = "CloudDeck-Event-Id";
    public const string EventType = "CloudDeck-Event-Type";
    public const string DeliveryId = "CloudDeck-Delivery-Id";

    /// <summary>Unix seconds when this attempt was signed.</summary>
    public const string Timestamp = "CloudDeck-Timestamp";

    /// <summary><c>v1=</c> and the lower-case hex HMAC-SHA256 of <c>timestamp + "." + body</c> keyed with the endpoint's secret (its UTF-8 bytes).</summary>
    public const string Signature = "CloudDeck-Signature";
}
