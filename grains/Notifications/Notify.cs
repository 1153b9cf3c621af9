using CloudDeck.GrainInterfaces.Notifications;

namespace CloudDeck.Grains.Notifications;

/// <summary>How the grains that see something happen report it: a new event id, handed one-way to the organization's rules.</summary>
public static class Notify
{
    /// <param name="data">The event's facts; null values are left out.</param>
    public static Task EventAsync(IGrainFactory grains, TimeProvider clock, string type, string organization, string? project, string summary,
        IEnumerable<KeyValuePair<string, string?>> data)
    {
        var facts = data.Where(d => d.Value is not null).ToDictionary(d => d.Key, d => d.Value!, StringComparer.Ordinal);
        var notification = new NotificationEvent(NotificationEvent.NewId(), type, organization, project, clock.GetUtcNow(), summary, facts);
        return grains.GetGrain<INotificationRulesGrain>(organization).Publish(notification);
    }
}
