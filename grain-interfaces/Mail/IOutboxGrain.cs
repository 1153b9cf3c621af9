namespace CloudDeck.GrainInterfaces.Mail;

/// <summary>
/// Outgoing email for one recipient (keyed by normalized address): queued, sent (SMTP, or the local mail folder when no
/// server is configured), retried with backoff on temporary failures, and recorded as delivered or failed.
/// Bodies carry one-time links, so they are secrets: readable here, never logged.
/// </summary>
[Alias("clouddeck.IOutboxGrain")]
public interface IOutboxGrain : IGrainWithStringKey
{
    /// <summary>Queues the message and returns; delivery happens in the background and survives restarts.</summary>
    Task Enqueue(OutboxMessage message);

    /// <summary>The kept messages, oldest first, bodies and links included: for the recipient's mailbox and the operator, never an API answer.</summary>
    [ReadOnly]
    Task<IReadOnlyList<OutboxMessage>> List();

    /// <summary>Where each kept message stands, newest first, without body or link.</summary>
    [ReadOnly]
    Task<IReadOnlyList<EmailDeliveryView>> Deliveries();
}

public static class OutboxKinds
{
    public const string EmailVerification = "email-verification";
    public const string PasswordReset = "password-reset";
    public const string Invitation = "invitation";

    /// <summary>Someone tried to sign up with an address that already has an account: its owner is told, with no link that acts.</summary>
    public const string SignUpAttempt = "sign-up-attempt";

    /// <summary>Billing: a payment failed and the grace period started (to every owner).</summary>
    public const string BillingPaymentFailed = "billing-payment-failed";

    /// <summary>Billing: the grace period ended unpaid; the free plan's limits apply.</summary>
    public const string BillingSuspended = "billing-suspended";

    /// <summary>Billing: the overdue invoice was paid.</summary>
    public const string BillingRestored = "billing-restored";

    /// <summary>A notification rule's email: an event the recipient's role subscribes to (deploy failed, quota…).</summary>
    public const string Notification = "notification";

    /// <summary>A webhook endpoint was disabled after repeated failures (to every owner).</summary>
    public const string WebhookDisabled = "webhook-disabled";
}

/// <param name="Link">The one-time link the body carries (also in <paramref name="Body"/>).</param>
[GenerateSerializer, Immutable, Alias("clouddeck.OutboxMessage")]
public sealed record OutboxMessage(string Kind, string To, string Subject, string Body, string Link, DateTimeOffset CreatedAt);

public static class EmailDeliveryStatuses
{
    /// <summary>Not handed on yet: waiting for its first attempt or, after a temporary failure, for <c>NextAttemptAt</c>.</summary>
    public const string Pending = "pending";

    /// <summary>The SMTP server accepted it (or, with no server configured, it was written to the local mail folder).</summary>
    public const string Delivered = "delivered";

    /// <summary>Refused for good (a 5xx reply), or still undeliverable when the retries gave up; <c>LastAnswer</c> says why.</summary>
    public const string Failed = "failed";
}

/// <param name="MessageId">The Message-ID header every attempt of this message carries (without angle brackets).</param>
/// <param name="Attempts">Attempts started; one more than the answers recorded when a crash interrupted the last.</param>
/// <param name="LastAnswer">The server's reply to the last attempt (or what went wrong reaching it).</param>
[GenerateSerializer, Immutable, Alias("clouddeck.EmailDeliveryView")]
public sealed record EmailDeliveryView(
    [property: Id(0)] string MessageId,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Subject,
    [property: Id(3)] string Status,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] int Attempts,
    [property: Id(6)] DateTimeOffset? NextAttemptAt,
    [property: Id(7)] DateTimeOffset? DeliveredAt,
    [property: Id(8)] string? LastAnswer);
