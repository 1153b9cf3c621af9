using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Notifications;

public static class NotificationServices
{
    /// <summary>
    /// What the notification grains need: <c>CloudDeck:Notifications:*</c> (validated now, so a wrong setting stops the
    /// process at start), the webhook target policy (which uses a <see cref="WebhookHostResolver"/> when one is registered)
    /// and the one HTTP client that sends webhooks. Safe to call twice.
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IServiceCollection AddCloudDeckNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(s => s.ServiceType == typeof(NotificationOptions))) return services;
        services.AddSingleton(NotificationOptions.Read(configuration));
        services.AddSingleton(provider => new WebhookTargets(provider.GetRequiredService<NotificationOptions>(), provider.GetService<WebhookHostResolver>()));
        services.AddSingleton<WebhookSender>();
        services.TryAddSingleton<WebhookDeliveryLog>();
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
