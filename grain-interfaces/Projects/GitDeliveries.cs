namespace CloudDeck.GrainInterfaces.Projects;

/// <param name="DeliveryId">The sender's delivery id (<c>X-GitHub-Delivery</c>), when it sent one.</param>
/// <param name="PayloadSha256">Lower-case hex SHA-256 of the signed body: the delivery id is not signed, the body is.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.GitDelivery")]
public sealed record GitDelivery(string? DeliveryId, string PayloadSha256, string DeploymentId, DateTimeOffset ReceivedAt);

/// <summary>
/// What a push webhook delivery led to: a new <see cref="Deployment"/>, nothing (a ping, a tag, a deleted branch: both
/// null), or, for a delivery seen before, <see cref="DuplicateOf"/> (the earlier delivery, whose deployment stands).
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.PushReceipt")]
public sealed record PushReceipt(Deployments.DeploymentView? Deployment, GitDelivery? DuplicateOf = null);

public static class GitDeliveries
{
    /// <summary>
    /// How long deliveries are remembered, and how old a push may be (its signed <c>repository.pushed_at</c>) to be
    /// accepted: GitHub lets a failed delivery be redelivered for three days.
    /// </summary>
    public static readonly TimeSpan Window = TimeSpan.FromDays(3);

    /// <summary>The longest delivery id taken (GitHub's are GUIDs, 36 characters).</summary>
    public const int MaxDeliveryIdLength = 100;

    /// <summary>Whether <paramref name="id"/> looks like a delivery id: 1–100 letters, digits, '-', '_' or '.'.</summary>
    public static bool IsWellFormedDeliveryId(string id) =>
        id.Length is >= 1 and <= MaxDeliveryIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
