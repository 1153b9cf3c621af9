namespace CloudDeck.Grains.Notifications;

public sealed class NotificationRulesState
{
    public List<NotificationRuleRecord> Rules { get; set; } = [];
}

public sealed class NotificationRuleRecord
{
    public string Id { get; set; } = "";

    public string Channel { get; set; } = "";

    public List<string> Events { get; set; } = [];

    public string? Project { get; set; }

    public List<string>? Roles { get; set; }

    /// <summary>The URL as the API shows it (no query; for Slack no path); the full one is sealed in the endpoint grain.</summary>
    public string? DisplayUrl { get; set; }

    public bool Enabled { get; set; } = true;

    public string? DisabledReason { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
