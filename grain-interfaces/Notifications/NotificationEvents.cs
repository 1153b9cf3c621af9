using System.Security.Cryptography;

namespace CloudDeck.GrainInterfaces.Notifications;

/// <summary>What happened, as rules name it and webhooks carry it in <c>type</c>.</summary>
public static class NotificationEventTypes
{
    public const string DeploymentReady = "deployment.ready";
    public const string DeploymentFailed = "deployment.failed";
    public const string DeploymentPromoted = "deployment.promoted";
    public const string DeploymentRolledBack = "deployment.rolled_back";
    public const string BuildFailed = "build.failed";
    public const string ServerCrashedRepeatedly = "server.crashed_repeatedly";
    public const string QuotaNearLimit = "quota.near_limit";
    public const string QuotaReached = "quota.reached";
    public const string PaymentFailed = "payment.failed";

    public static readonly IReadOnlyList<string> All =
    [
        DeploymentReady, DeploymentFailed, DeploymentPromoted, DeploymentRolledBack, BuildFailed, ServerCrashedRepeatedly,
        QuotaNearLimit, QuotaReached, PaymentFailed,
    ];

    /// <summary>Events about the organization as a whole: a project-scoped rule never receives them.</summary>
    public static bool IsOrganizationWide(string type) => type is QuotaNearLimit or QuotaReached or PaymentFailed;
}

/// <summary>
/// One thing that happened, as every channel receives it. <paramref name="Id"/> is the event's identity: every delivery
/// of it, retries and manual redeliveries alike, carries the same id, so a receiver recognises a replay.
/// </summary>
/// <param name="Project">The project's name, or null for an organization-wide event.</param>
/// <param name="Summary">One line for people (the email subject, the Slack text).</param>
/// <param name="Data">The event's facts (deployment_id, status, error, url, limit…), flat strings.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.NotificationEvent")]
public sealed record NotificationEvent(
    [property: Id(0)] string Id,
    [property: Id(1)] string Type,
    [property: Id(2)] string Organization,
    [property: Id(3)] string? Project,
    [property: Id(4)] DateTimeOffset OccurredAt,
    [property: Id(5)] string Summary,
    [property: Id(6)] IReadOnlyDictionary<string, string> Data)
{
    /// <summary>"evt_" and 24 lower-case hex digits (96 random bits).</summary>
    public static string NewId() => "evt_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
