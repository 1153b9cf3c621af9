
namespace CloudDeck.GrainInterfaces.Mail;

/// <summary>
/// Outgoing email for one recipient (keyed by normalized address), kept until a later issue delivers it.
/// Bodies carry one-time links, so they are secrets: readable here, never logged.
/// </summary>
[Alias("clouddeck.IOutboxGrain")]
public interface IOutboxGrain : IGrainWithStringKey
{
    Task Enqueue(OutboxMessage message);

    [ReadOnly]
    Task<IReadOnlyList<OutboxMessage>> List();
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
