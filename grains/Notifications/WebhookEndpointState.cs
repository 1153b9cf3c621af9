using CloudDeck.GrainInterfaces.Notifications;

namespace CloudDeck.Grains.Notifications;

public sealed class WebhookEndpointState
{
    public string? Channel { get; set; }

    public string? UrlCiphertext { get; set; }

    public string? SecretCiphertext { get; set; }

    public bool Enabled { get; set; }

    public string? DisabledReason { get; set; }

    /// <summary>Failed attempts since the last one that succeeded, over all deliveries.</summary>
    public int ConsecutiveFailures { get; set; }

    public long LastSequence { get; set; }

    /// <summary>The deliveries still pending, oldest first; every delivery, finished or not, is a row of <see cref="WebhookDeliveryLog"/>.</summary>
    public List<WebhookDeliveryRecord> Deliveries { get; set; } = [];
}

public sealed class WebhookDeliveryRecord
{
    public string Id { get; set; } = "";

    public long Sequence { get; set; }

    public string EventId { get; set; } = "";

    public string EventType { get; set; } = "";

    /// <summary>The exact body, so retries and redeliveries send the same bytes (signed afresh with a new timestamp).</summary>
    public string Body { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public string Status { get; set; } = WebhookDeliveryStatuses.Pending;

    public DateTimeOffset? NextAttemptAt { get; set; }

    public string? RedeliveryOf { get; set; }

    public List<WebhookAttemptView> Attempts { get; set; } = [];
}
