using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Tests.Builds;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Tests.Notifications;

/// <summary>A <see cref="BuildSilo"/> with the notification services, retrying webhooks after 200 ms, 400 ms… so tests are quick.</summary>
internal static class NotificationSilo
{
    public static Dictionary<string, string?> QuickRetries(bool allowPrivate = true) => new()
    {
        ["CloudDeck:Notifications:AllowPrivateWebhookTargets"] = allowPrivate ? "true" : "false",
        ["CloudDeck:Notifications:FirstRetryDelay"] = "00:00:00.2",
        ["CloudDeck:Notifications:MaxRetryDelay"] = "00:00:02",
        ["CloudDeck:Notifications:RequestTimeout"] = "00:00:05",
    };

    /// <param name="resolver">Answers webhook host lookups instead of the system's resolver.</param>
    public static Task<BuildSilo> StartAsync(Dictionary<string, string?> settings, WebhookHostResolver? resolver = null) =>
        // BuildSilo registers the notification services from these settings; the resolver is read when they are first used.
        BuildSilo.StartAsync(settings, services =>
        {
            if (resolver is not null) services.AddSingleton(resolver);
        });

    public static INotificationRulesGrain Rules(this BuildSilo silo, string organization) => silo.Grains.GetGrain<INotificationRulesGrain>(organization);

    public static IWebhookEndpointGrain Endpoint(this BuildSilo silo, string organization, string ruleId) =>
        silo.Grains.GetGrain<IWebhookEndpointGrain>(WebhookEndpointGrain.Key(organization, ruleId));

    /// <summary>Polls until <paramref name="done"/> holds (deliveries and emails happen outside the call that caused them).</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        T value;
        do
        {
            value = await read();
            if (done(value)) return value;
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        while (DateTimeOffset.UtcNow < deadline);

        throw new TimeoutException($"Still waiting for {what}.");
    }

    public static NotificationEvent Event(string organization, string type, string? project = "web") =>
        new(NotificationEvent.NewId(), type, organization, project, DateTimeOffset.UtcNow, $"test event {type}", new Dictionary<string, string> { ["deployment_id"] = "0123456789abcdef" });

    public static Caller Stranger(string email) => new("u-stranger", email, "10.0.0.9");
}
