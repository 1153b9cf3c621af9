using CloudDeck.GrainInterfaces.Mail;

namespace CloudDeck.Grains.Mail;

public sealed class OutboxState
{
    /// <summary>Messages queued before delivery existed; moved into <see cref="Entries"/> on activation.</summary>
    public List<OutboxMessage> Messages { get; set; } = [];

    public List<OutboxEntry> Entries { get; set; } = [];
}

/// <summary>One message and where its delivery stands.</summary>
public sealed class OutboxEntry
{
    public OutboxMessage Message { get; set; } = null!;

    /// <summary>The Message-ID header of every attempt, chosen when queued.</summary>
    public string MessageId { get; set; } = "";

    public string Status { get; set; } = EmailDeliveryStatuses.Pending;

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset? LastAttemptAt { get; set; }

    public DateTimeOffset? DeliveredAt { get; set; }

    public DateTimeOffset? FailedAt { get; set; }

    public string? LastAnswer { get; set; }

    public static OutboxEntry For(OutboxMessage message, string messageId) =>
        new() { Message = message, MessageId = messageId, NextAttemptAt = message.CreatedAt };

    public void Deliver(DateTimeOffset at, string answer)
    {
        Status = EmailDeliveryStatuses.Delivered;
        DeliveredAt = at;
        LastAnswer = answer;
    }

    public void Fail(DateTimeOffset at, string answer)
    {
        Status = EmailDeliveryStatuses.Failed;
        FailedAt = at;
        LastAnswer = answer;
    }

    public void RetryAt(DateTimeOffset at, string answer)
    {
        NextAttemptAt = at;
        LastAnswer = answer;
    }

    public EmailDeliveryView View() => new(MessageId, Message.Kind, Message.Subject, Status, Message.CreatedAt, Attempts,
        Status == EmailDeliveryStatuses.Pending ? NextAttemptAt : null, DeliveredAt, LastAnswer);
}
