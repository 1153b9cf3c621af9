namespace CloudDeck.Dashboard.Api;

/// <summary>An organization's notification rules and a webhook rule's deliveries.</summary>
public sealed partial class DashboardApi
{
    private static string RulesPath(string org) => $"{OrgPath(org)}/notifications";

    public async Task<IReadOnlyList<NotificationRule>> NotificationRulesAsync(string org, CancellationToken cancellation = default) =>
        DashboardJson.ReadList<NotificationRule>(await GetAsync($"{RulesPath(org)}?limit=100", cancellation)).Items;

    /// <returns>The rule, and a webhook's signing secret (shown this once; null for other channels).</returns>
    public async Task<CreatedNotificationRule> AddNotificationRuleAsync(string org, string channel, IReadOnlyList<string> events, string? project,
        IReadOnlyList<string>? roles, string? url, CancellationToken cancellation = default) =>
        DashboardJson.Read<CreatedNotificationRule>(await PostAsync(RulesPath(org), new { channel, events, project, roles, url }, cancellation));

    public Task RemoveNotificationRuleAsync(string org, string ruleId, CancellationToken cancellation = default) =>
        SendAsync(HttpMethod.Delete, $"{RulesPath(org)}/{Escape(ruleId)}", cancellation: cancellation);

    public Task EnableNotificationRuleAsync(string org, string ruleId, CancellationToken cancellation = default) =>
        PostAsync($"{RulesPath(org)}/{Escape(ruleId)}/enable", cancellation: cancellation);

    public async Task<IReadOnlyList<WebhookDelivery>> WebhookDeliveriesAsync(string org, string ruleId, CancellationToken cancellation = default) =>
        DashboardJson.ReadList<WebhookDelivery>(await GetAsync($"{RulesPath(org)}/{Escape(ruleId)}/deliveries?limit=50", cancellation)).Items;

    public Task RedeliverWebhookAsync(string org, string ruleId, string deliveryId, CancellationToken cancellation = default) =>
        PostAsync($"{RulesPath(org)}/{Escape(ruleId)}/deliveries/{Escape(deliveryId)}/redeliver", cancellation: cancellation);
}

public sealed record NotificationRule(string Id, string Channel, IReadOnlyList<string> Events, string? Project, IReadOnlyList<string>? Roles, string? Url,
    bool Enabled, string? DisabledReason, DateTimeOffset CreatedAt);

public sealed record CreatedNotificationRule(NotificationRule Rule, string? Secret);

public sealed record WebhookDelivery(string Id, string EventId, string EventType, string Status, int? ResponseCode, long? DurationMs, DateTimeOffset CreatedAt,
    DateTimeOffset? NextAttemptAt, string? RedeliveryOf);
