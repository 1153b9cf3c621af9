using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Notifications;

/// <summary>
/// An organization's notification rules (keyed by its slug): which events go where. Managing them needs
/// <see cref="Organizations.OrganizationActions.ManageNotifications"/> (admins and owners); anyone outside the
/// organization gets <see cref="NotFoundException"/>.
/// </summary>
[Alias("clouddeck.INotificationRulesGrain")]
public interface INotificationRulesGrain : IGrainWithStringKey
{
    [ReadOnly]
    Task<IReadOnlyList<NotificationRuleView>> List(Caller caller);

    [ReadOnly]
    Task<NotificationRuleView> Get(Caller caller, string ruleId);

    /// <summary>
    /// Adds a rule. A webhook's URL is checked first (http or https, and a host that resolves to public addresses
    /// only unless the operator allows private ones): a refusal is an <see cref="InvalidFieldException"/> on <c>url</c>
    /// naming the reason. A webhook rule's signing secret is in the answer, this once.
    /// </summary>
    Task<NotificationRuleCreated> Add(Caller caller, NotificationRuleSpec spec);

    Task Remove(Caller caller, string ruleId);

    /// <summary>Turns a webhook that was disabled after repeated failures back on.</summary>
    Task<NotificationRuleView> Enable(Caller caller, string ruleId);

    /// <summary>
    /// Hands the event to every rule that asked for it (emails are queued, webhook deliveries start). Platform-internal
    /// and one-way, so the grain that reports an event (a deployment, a quota) never waits on a rule's channel.
    /// </summary>
    [OneWay]
    Task Publish(NotificationEvent notification);

    /// <summary>Platform-internal: the endpoint grain disabled itself after repeated failures (one-way, so it never waits on this grain).</summary>
    [OneWay]
    Task EndpointDisabled(string ruleId, string reason);
}

/// <summary>Where a rule sends its events.</summary>
public static class NotificationChannels
{
    /// <summary>An email to each member holding one of the rule's roles.</summary>
    public const string Email = "email";

    /// <summary>A signed JSON POST to the rule's URL.</summary>
    public const string Webhook = "webhook";

    /// <summary>A Slack-compatible incoming webhook: <c>{"text": …}</c> POSTed to the rule's URL.</summary>
    public const string Slack = "slack";

    public static readonly IReadOnlyList<string> All = [Email, Webhook, Slack];
}

/// <param name="Project">Only this project's events; null for every project's and the organization's own.</param>
/// <param name="Roles">For <see cref="NotificationChannels.Email"/>: who receives it.</param>
/// <param name="Url">For webhook and Slack channels.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.NotificationRuleSpec")]
public sealed record NotificationRuleSpec(
    [property: Id(0)] string Channel,
    [property: Id(1)] IReadOnlyList<string> Events,
    [property: Id(2)] string? Project = null,
    [property: Id(3)] IReadOnlyList<string>? Roles = null,
    [property: Id(4)] string? Url = null);

/// <summary>
/// A rule as the API shows it. <paramref name="Url"/> is shown without its query and, for Slack (whose URL is the
/// credential), without its path; the full URL and the secret stay encrypted in the grain.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.NotificationRuleView")]
public sealed record NotificationRuleView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Channel,
    [property: Id(2)] IReadOnlyList<string> Events,
    [property: Id(3)] string? Project,
    [property: Id(4)] IReadOnlyList<string>? Roles,
    [property: Id(5)] string? Url,
    [property: Id(6)] bool Enabled,
    [property: Id(7)] string? DisabledReason,
    [property: Id(8)] DateTimeOffset CreatedAt);

/// <param name="Secret">The webhook's signing secret, answered once at creation; null for other channels.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.NotificationRuleCreated")]
public sealed record NotificationRuleCreated([property: Id(0)] NotificationRuleView Rule, [property: Id(1)] string? Secret);

/// <summary>Rule ids: "ntf_" and 16 lower-case hex digits, checked before an id from a request reaches a grain key.</summary>
public static class NotificationRuleIds
{
    public const string Rule = "a notification rule id is ntf_ and 16 lower-case hex digits";

    public static string New() => "ntf_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));

    public static bool IsWellFormed(string? value) =>
        value is { Length: 20 } && value.StartsWith("ntf_", StringComparison.Ordinal) && value.AsSpan(4).IndexOfAnyExcept("0123456789abcdef") < 0;
}
