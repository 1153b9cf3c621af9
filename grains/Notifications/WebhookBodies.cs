using System.Globalization;
using System.Text.Json.Nodes;
using CloudDeck.GrainInterfaces.Notifications;

namespace CloudDeck.Grains.Notifications;

/// <summary>What a delivery POSTs: the event as JSON for a webhook, <c>{"text": …}</c> for a Slack-compatible one.</summary>
public static class WebhookBodies
{
    public static string For(string channel, NotificationEvent notification) =>
        channel == NotificationChannels.Slack ? Slack(notification) : Json(notification);

    /// <summary><c>{id, type, created_at, organization, project, summary, data}</c>, snake_case like the API.</summary>
    public static string Json(NotificationEvent notification)
    {
        var data = new JsonObject();
        foreach (var (key, value) in notification.Data.OrderBy(d => d.Key, StringComparer.Ordinal)) data[key] = value;
        return new JsonObject
        {
            ["id"] = notification.Id,
            ["type"] = notification.Type,
            ["created_at"] = notification.OccurredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            ["organization"] = notification.Organization,
            ["project"] = notification.Project,
            ["summary"] = notification.Summary,
            ["data"] = data,
        }.ToJsonString();
    }

    /// <summary>Slack's incoming-webhook message (Mattermost and Rocket.Chat read the same): one line, and the URL when there is one.</summary>
    public static string Slack(NotificationEvent notification)
    {
        var text = $"[{notification.Organization}] {notification.Summary}";
        if (notification.Data.GetValueOrDefault("url") is { Length: > 0 } url) text += $"\n{url}";
        return new JsonObject { ["text"] = text }.ToJsonString();
    }
}
