using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Projects;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Notifications;

/// <summary>
/// One webhook or Slack rule's deliveries. A delivery is stored before it is tried, tried in a timer turn of its own
/// (so whoever queued it does not wait), and after a failure tried again after <see cref="NotificationOptions.RetryDelay"/>
/// until the retry window ends. A timer makes the next attempt on time; a reminder, registered while anything is
/// pending, wakes the grain after a restart. After <see cref="NotificationOptions.DisableAfterConsecutiveFailures"/>
/// failed attempts in a row the endpoint is disabled and the organization's owners are emailed. The state holds the
/// pending deliveries only; the log of all of them is in <see cref="WebhookDeliveryLog"/>.
/// </summary>
public sealed partial class WebhookEndpointGrain(
    [PersistentState("webhook-endpoint")] IPersistentState<WebhookEndpointState> state,
    SecretsKey secrets,
    WebhookSender sender,
    WebhookDeliveryLog log,
    NotificationOptions options,
    ILogger<WebhookEndpointGrain> logger,
    TimeProvider clock) : Grain, IWebhookEndpointGrain, IRemindable
{
    public const int MaxPageSize = 100;
    private const int ConcurrentAttempts = 16;
    private const string RetryReminder = "webhook-retry";

    private IGrainTimer? _timer;
    private bool _reminderRegistered;

    private WebhookEndpointState Endpoint => state.State;

    private string Organization => this.GetPrimaryKeyString().Split('/')[0];

    private string RuleId => this.GetPrimaryKeyString().Split('/')[1];

    public static string Key(string organization, string ruleId) => $"{organization}/{ruleId}";

    /// <summary>The associated data the URL and secret are sealed with: a ciphertext copied to another endpoint does not open there.</summary>
    public static string UrlContext(string organization, string ruleId) => $"notification-url:{organization}/{ruleId}";

    public static string SecretContext(string organization, string ruleId) => $"notification-secret:{organization}/{ruleId}";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _reminderRegistered = await this.GetReminder(RetryReminder) is not null;
        Schedule();
    }

    public async Task Configure(WebhookEndpointConfig config)
    {
        Endpoint.Channel = config.Channel;
        Endpoint.UrlCiphertext = config.UrlCiphertext;
        Endpoint.SecretCiphertext = config.SecretCiphertext;
        Endpoint.Enabled = true;
        Endpoint.DisabledReason = null;
        Endpoint.ConsecutiveFailures = 0;
        await state.WriteStateAsync();
    }

    public async Task Remove()
    {
        _timer?.Dispose();
        _timer = null;
        await state.ClearStateAsync();
        await log.DeleteAsync(this.GetPrimaryKeyString());
        await SyncReminderAsync();
    }

    public async Task Enable()
    {
        if (Endpoint.Channel is null || Endpoint.Enabled) return;
        Endpoint.Enabled = true;
        Endpoint.DisabledReason = null;
        Endpoint.ConsecutiveFailures = 0;
        await state.WriteStateAsync();
    }

    public async Task Deliver(NotificationEvent notification)
    {
        if (Endpoint.Channel is null || !Endpoint.Enabled) return;
        await QueueAsync(notification.Id, notification.Type, WebhookBodies.For(Endpoint.Channel, notification), redeliveryOf: null);
    }

    public async Task<WebhookDeliveryPage> ListDeliveries(Caller caller, long? before, int limit)
    {
        await AuthorizeAsync(caller);
        limit = Math.Clamp(limit, 1, MaxPageSize);
        var (page, next) = await log.PageAsync(this.GetPrimaryKeyString(), before, limit);
        return new WebhookDeliveryPage([.. page.Select(View)], next);
    }

    public async Task<WebhookDeliveryView> Redeliver(Caller caller, string deliveryId)
    {
        await AuthorizeAsync(caller);
        var original = await log.FindAsync(this.GetPrimaryKeyString(), deliveryId)
                       ?? throw new NotFoundException($"Delivery '{deliveryId}' not found.");
        if (!Endpoint.Enabled) throw new ConflictException($"The endpoint is disabled ({Endpoint.DisabledReason}); enable it first.");
        return View(await QueueAsync(original.EventId, original.EventType, original.Body, original.Id));
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => RunDueAsync();

    private async Task<WebhookDeliveryRecord> QueueAsync(string eventId, string eventType, string body, string? redeliveryOf)
    {
        var now = clock.GetUtcNow();
        var delivery = new WebhookDeliveryRecord
        {
            Id = WebhookDeliveryIds.New(),
            Sequence = ++Endpoint.LastSequence,
            EventId = eventId,
            EventType = eventType,
            Body = body,
            CreatedAt = now,
            NextAttemptAt = now,
            RedeliveryOf = redeliveryOf,
        };
        Endpoint.Deliveries.Add(delivery);
        await state.WriteStateAsync();
        await log.WriteAsync(this.GetPrimaryKeyString(), [delivery]);
        await SyncReminderAsync();
        Schedule();
        return delivery;
    }

    /// <summary>Tries every due delivery (a few at a time), records each attempt, and schedules the next.</summary>
    private async Task RunDueAsync()
    {
        while (Endpoint.Enabled && Endpoint.Channel is not null)
        {
            var now = clock.GetUtcNow();
            var due = Endpoint.Deliveries.Where(d => d.Status == WebhookDeliveryStatuses.Pending && d.NextAttemptAt <= now)
                .OrderBy(d => d.NextAttemptAt).Take(ConcurrentAttempts).ToList();
            if (due.Count == 0) break;
            var url = new Uri(secrets.Decrypt(Endpoint.UrlCiphertext!, UrlContext(Organization, RuleId)));
            var secret = Endpoint.SecretCiphertext is { } sealedSecret ? secrets.Decrypt(sealedSecret, SecretContext(Organization, RuleId)) : null;
            var results = await Task.WhenAll(due.Select(d => AttemptAsync(url, secret, d)));
            string? lastError = null;
            for (var i = 0; i < due.Count; i++)
            {
                lastError = Record(due[i], results[i]) ?? lastError;
            }

            if (Endpoint.ConsecutiveFailures >= options.DisableAfterConsecutiveFailures) await DisableAsync(lastError);
            // The log first: a delivery leaves the state only once its row says how it ended.
            await log.WriteAsync(this.GetPrimaryKeyString(), due.Union(Endpoint.Deliveries.Where(d => d.Status != WebhookDeliveryStatuses.Pending)));
            Endpoint.Deliveries.RemoveAll(d => d.Status != WebhookDeliveryStatuses.Pending);
            await state.WriteStateAsync();
        }

        await SyncReminderAsync();
        Schedule();
    }

    private Task<WebhookAttemptResult> AttemptAsync(Uri url, string? secret, WebhookDeliveryRecord delivery)
    {
        var timestamp = clock.GetUtcNow().ToUnixTimeSeconds();
        List<KeyValuePair<string, string>> headers =
        [
            new(WebhookHeaders.EventId, delivery.EventId),
            new(WebhookHeaders.EventType, delivery.EventType),
            new(WebhookHeaders.DeliveryId, delivery.Id),
            new(WebhookHeaders.Timestamp, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ];
        if (secret is not null) headers.Add(new(WebhookHeaders.Signature, WebhookSender.Sign(secret, timestamp, delivery.Body)));
        return sender.PostAsync(url, delivery.Body, headers, CancellationToken.None);
    }

    /// <summary>Records the attempt; answers its error when it failed.</summary>
    private string? Record(WebhookDeliveryRecord delivery, WebhookAttemptResult result)
    {
        var now = clock.GetUtcNow();
        delivery.Attempts.Add(new WebhookAttemptView(now, result.ResponseCode, result.DurationMs, result.Error));
        if (result.Succeeded)
        {
            delivery.Status = WebhookDeliveryStatuses.Succeeded;
            delivery.NextAttemptAt = null;
            Endpoint.ConsecutiveFailures = 0;
            return null;
        }

        Endpoint.ConsecutiveFailures++;
        var next = now + options.RetryDelay(delivery.Attempts.Count);
        if (next > delivery.CreatedAt + options.RetryWindow)
        {
            delivery.Status = WebhookDeliveryStatuses.Failed;
            delivery.NextAttemptAt = null;
        }
        else
        {
            delivery.NextAttemptAt = next;
        }

        LogAttemptFailed(logger, Organization, RuleId, delivery.Id, delivery.Attempts.Count, result.Error ?? "");
        return result.Error;
    }

    private async Task DisableAsync(string? lastError)
    {
        var reason = $"disabled after {Endpoint.ConsecutiveFailures} failed attempts in a row (the last: {lastError ?? "unknown"})";
        Endpoint.Enabled = false;
        Endpoint.DisabledReason = reason;
        foreach (var pending in Endpoint.Deliveries.Where(d => d.Status == WebhookDeliveryStatuses.Pending))
        {
            pending.Status = WebhookDeliveryStatuses.Failed;
            pending.NextAttemptAt = null;
        }

        LogDisabled(logger, Organization, RuleId, Endpoint.ConsecutiveFailures);
        await GrainFactory.GetGrain<INotificationRulesGrain>(Organization).EndpointDisabled(RuleId, reason);
        var subject = $"[{Organization}] Webhook {RuleId} was disabled";
        var body = $"CloudDeck stopped sending to the {Endpoint.Channel} endpoint of notification rule {RuleId} in {Organization}: it was {reason}.\n\n" +
                   "Fix the receiver, then enable the rule again (POST /api/v1/orgs/{org}/notifications/{rule_id}/enable); " +
                   "deliveries that failed meanwhile can be sent again from the rule's delivery log.\n";
        foreach (var owner in await GrainFactory.GetGrain<IOrganizationGrain>(Organization).GetOwnerEmails())
        {
            await GrainFactory.GetGrain<IOutboxGrain>(owner).Enqueue(new OutboxMessage(OutboxKinds.WebhookDisabled, owner, subject, body, "", clock.GetUtcNow()));
        }
    }

    /// <summary>A timer for the earliest pending attempt (the reminder is only the restart net: its period is a minute).</summary>
    private void Schedule()
    {
        _timer?.Dispose();
        _timer = null;
        if (!Endpoint.Enabled) return;
        var next = Endpoint.Deliveries.Where(d => d.Status == WebhookDeliveryStatuses.Pending).Min(d => d.NextAttemptAt);
        if (next is not { } due) return;
        var wait = due - clock.GetUtcNow();
        _timer = this.RegisterGrainTimer(static (grain, _) => grain.RunDueAsync(), this,
            new GrainTimerCreationOptions(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task SyncReminderAsync()
    {
        var pending = Endpoint.Enabled && Endpoint.Deliveries.Any(d => d.Status == WebhookDeliveryStatuses.Pending);
        if (pending && !_reminderRegistered)
        {
            await this.RegisterOrUpdateReminder(RetryReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            _reminderRegistered = true;
        }
        else if (!pending && _reminderRegistered)
        {
            if (await this.GetReminder(RetryReminder) is { } reminder) await this.UnregisterReminder(reminder);
            _reminderRegistered = false;
        }
    }

    private async Task AuthorizeAsync(Caller caller)
    {
        await GrainFactory.GetGrain<IOrganizationGrain>(Organization).Authorize(caller, OrganizationActions.ManageNotifications);
        if (Endpoint.Channel is null) throw new NotFoundException($"Notification rule '{RuleId}' has no delivery log (it is not a webhook or slack rule).");
    }

    private static WebhookDeliveryView View(WebhookDeliveryRecord d) => new(d.Id, d.Sequence, d.EventId, d.EventType, d.Status,
        d.Attempts.LastOrDefault()?.ResponseCode, d.Attempts.LastOrDefault()?.DurationMs, d.CreatedAt, d.NextAttemptAt, [.. d.Attempts], d.RedeliveryOf);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {Organization}/{RuleId}: delivery {DeliveryId} attempt {Attempt} failed: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string organization, string ruleId, string deliveryId, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Organization}/{RuleId} disabled after {Failures} failed attempts in a row")]
    private static partial void LogDisabled(ILogger logger, string organization, string ruleId, int failures);
}
