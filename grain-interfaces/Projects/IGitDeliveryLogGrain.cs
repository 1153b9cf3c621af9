namespace CloudDeck.GrainInterfaces.Projects;

/// <summary>
/// Keyed like the project ("org/project"): the git push deliveries that created a deployment of it in the last
/// <see cref="GitDeliveries.Window"/> (at most <see cref="GitDeliveries.MaxRemembered"/>), in grain state so a restart
/// does not forget them. Only the project grain calls it, inside its own turn, so a check and the record that follows
/// are never interleaved with another delivery's.
/// </summary>
[Alias("clouddeck.IGitDeliveryLogGrain")]
public interface IGitDeliveryLogGrain : IGrainWithStringKey
{
    /// <summary>The earlier delivery with this delivery id, or with this exact payload (its SHA-256), if one is remembered.</summary>
    [ReadOnly]
    Task<GitDelivery?> Find(string? deliveryId, string payloadSha256);

    Task Remember(GitDelivery delivery);
}

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

    /// <summary>Deliveries remembered per project at most, the newest kept.</summary>
    public const int MaxRemembered = 10_000;

    /// <summary>The longest delivery id taken (GitHub's are GUIDs, 36 characters).</summary>
    public const int MaxDeliveryIdLength = 100;

    /// <summary>Whether <paramref name="id"/> looks like a delivery id: 1–100 letters, digits, '-', '_' or '.'.</summary>
    public static bool IsWellFormedDeliveryId(string id) =>
        id.Length is >= 1 and <= MaxDeliveryIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
