using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Projects;
using Microsoft.Extensions.Logging;

using CloudDeck.Grains.Organizations;

namespace CloudDeck.Grains.Notifications;

/// <summary>
/// An organization's notification rules and the fan-out of each event to them: emails go to the outbox at once,
/// webhook and Slack deliveries to the rule's <see cref="WebhookEndpointGrain"/>, which sends and retries them.
/// </summary>
public sealed partial class NotificationRulesGrain(
    [PersistentState("notification-rules")] IPersistentState<NotificationRulesState> state,
    SecretsKey secrets,
    WebhookTargets targets,
    AuditTrail audit,
    ILogger<NotificationRulesGrain> logger,
    TimeProvider clock) : Grain, INotificationRulesGrain
{
    public const int MaxRules = 50;

    private string Slug => this.GetPrimaryKeyString();

    private List<NotificationRuleRecord> Rules => state.State.Rules;

    public async Task<IReadOnlyList<NotificationRuleView>> List(Caller caller)
    {
        await AuthorizeAsync(caller);
        return [.. Rules.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal).Select(View)];
    }

    public async Task<NotificationRuleView> Get(Caller caller, string ruleId)
    {
        await AuthorizeAsync(caller);
        return View(Find(ruleId));
    }

    public async Task<NotificationRuleCreated> Add(Caller caller, NotificationRuleSpec spec)
    {
        await AuthorizeAsync(caller);
        var record = new NotificationRuleRecord
        {
            Id = NotificationRuleIds.New(),
            Channel = spec.Channel,
            Events = [.. CheckEvents(spec.Events)],
            Project = spec.Project,
            CreatedAt = clock.GetUtcNow(),
        };
        if (!NotificationChannels.All.Contains(spec.Channel)) throw new InvalidFieldException("channel", $"must be one of {string.Join(", ", NotificationChannels.All)}");
        if (spec.Project is not null)
        {
            if (!ProjectKeys.IsWellFormedName(spec.Project)) throw new InvalidFieldException("project", ProjectKeys.NameRule);
            // Through the project grain, so a name that is not this organization's project is refused like a missing one.
            await GrainFactory.GetGrain<IProjectGrain>(ProjectKeys.Of(Slug, spec.Project)).Get(caller);
        }

        if (Rules.Count >= MaxRules) throw new ConflictException($"An organization has at most {MaxRules} notification rules; remove one first.");
        string? secret = null;
        if (spec.Channel == NotificationChannels.Email)
        {
            if (spec.Url is not null) throw new InvalidFieldException("url", "is only for webhook and slack rules");
            if (spec.Roles is not { Count: > 0 } roles || roles.Any(r => !OrganizationRoles.All.Contains(r)))
            {
                throw new InvalidFieldException("roles", $"must list one or more of {string.Join(", ", OrganizationRoles.All)}");
            }

            record.Roles = [.. spec.Roles.Distinct(StringComparer.Ordinal)];
        }
        else
        {
            if (spec.Roles is not null) throw new InvalidFieldException("roles", "is only for email rules");
            var url = await CheckUrlAsync(spec.Url);
            record.DisplayUrl = DisplayUrl(url, spec.Channel);
            string? sealedSecret = null;
            if (spec.Channel == NotificationChannels.Webhook)
            {
                secret = "whsec_" + Secrets.NewSecret();
                sealedSecret = secrets.Encrypt(secret, WebhookEndpointGrain.SecretContext(Slug, record.Id));
            }

            await Endpoint(record.Id).Configure(new WebhookEndpointConfig(spec.Channel,
                secrets.Encrypt(url.AbsoluteUri, WebhookEndpointGrain.UrlContext(Slug, record.Id)), sealedSecret));
        }

        Rules.Add(record);
        await state.WriteStateAsync();
        await AuditAsync(caller, "notification.rule_added", $"{record.Id}: {record.Channel} {string.Join(",", record.Events)}");
        LogAdded(logger, Slug, record.Id, record.Channel);
        return new NotificationRuleCreated(View(record), secret);
    }

    public async Task Remove(Caller caller, string ruleId)
    {
        await AuthorizeAsync(caller);
        var record = Find(ruleId);
        Rules.Remove(record);
        await state.WriteStateAsync();
        if (record.Channel != NotificationChannels.Email) await Endpoint(record.Id).Remove();
        await AuditAsync(caller, "notification.rule_removed", record.Id);
    }

    public async Task<NotificationRuleView> Enable(Caller caller, string ruleId)
    {
        await AuthorizeAsync(caller);
        var record = Find(ruleId);
        if (record.Enabled) return View(record);
        record.Enabled = true;
        record.DisabledReason = null;
        await state.WriteStateAsync();
        await Endpoint(record.Id).Enable();
        await AuditAsync(caller, "notification.rule_enabled", record.Id);
        return View(record);
    }

    public async Task EndpointDisabled(string ruleId, string reason)
    {
        if (Rules.FirstOrDefault(r => r.Id == ruleId) is not { Enabled: true } record) return;
        record.Enabled = false;
        record.DisabledReason = reason;
        await state.WriteStateAsync();
    }

    public async Task Publish(NotificationEvent notification)
    {
        var organizationWide = NotificationEventTypes.IsOrganizationWide(notification.Type);
        var matching = Rules.Where(r => r.Enabled && r.Events.Contains(notification.Type)
                                        && (r.Project is null || (!organizationWide && r.Project == notification.Project))).ToList();
        // At once: each endpoint stores its delivery in its own grain, and one busy endpoint must not hold up the others.
        await Task.WhenAll(matching.Select(rule => HandAsync(rule, notification)));
    }

    private async Task HandAsync(NotificationRuleRecord rule, NotificationEvent notification)
    {
        try
        {
            if (rule.Channel == NotificationChannels.Email) await EmailAsync(rule, notification);
            else await Endpoint(rule.Id).Deliver(notification);
        }
        catch (Exception e)
        {
            // One rule's trouble must not keep the event from the others.
            LogPublishFailed(logger, e, Slug, rule.Id, notification.Type, notification.Id);
        }
    }

    private async Task EmailAsync(NotificationRuleRecord rule, NotificationEvent notification)
    {
        var link = notification.Data.GetValueOrDefault("url") ?? "";
        var details = string.Join("\n", notification.Data.Where(d => d.Key != "url").OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Key}: {d.Value}"));
        var body = $"{notification.Summary}\n\n{details}\n{(link.Length > 0 ? "\n" + link + "\n" : "")}\n" +
                   $"You receive this as {string.Join(" or ", rule.Roles ?? [])} of {Slug} (notification rule {rule.Id}, event {notification.Type}, {notification.Id}).\n";
        foreach (var email in await GrainFactory.GetGrain<IOrganizationGrain>(Slug).GetMemberEmails(rule.Roles ?? []))
        {
            await GrainFactory.GetGrain<IOutboxGrain>(email).Enqueue(new OutboxMessage(OutboxKinds.Notification, email,
                $"[{Slug}] {notification.Summary}", body, link, clock.GetUtcNow()));
        }
    }

    private async Task<Uri> CheckUrlAsync(string? url)
    {
        if (url is null) throw new InvalidFieldException("url", "is required for webhook and slack rules");
        if (WebhookTargets.SyntaxProblem(url, out var uri) is { } problem) throw new InvalidFieldException("url", problem);
        var check = await targets.CheckAsync(uri!.IdnHost, CancellationToken.None);
        return check.Refusal is { } refusal ? throw new InvalidFieldException("url", refusal) : uri;
    }

    private static IReadOnlyList<string> CheckEvents(IReadOnlyList<string> events)
    {
        if (events.Count == 0 || events.Any(e => !NotificationEventTypes.All.Contains(e)))
        {
            throw new InvalidFieldException("events", $"must list one or more of {string.Join(", ", NotificationEventTypes.All)}");
        }

        return [.. events.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Slack's URL is its credential, so only its origin shows; a webhook's query may hold a token, so it is dropped.</summary>
    private static string DisplayUrl(Uri url, string channel) =>
        channel == NotificationChannels.Slack ? url.GetLeftPart(UriPartial.Authority) + "/…" : url.GetLeftPart(UriPartial.Path) + (url.Query.Length > 0 ? "?…" : "");

    private NotificationRuleRecord Find(string ruleId) =>
        Rules.FirstOrDefault(r => r.Id == ruleId) ?? throw new NotFoundException($"Notification rule '{ruleId}' not found.");

    private IWebhookEndpointGrain Endpoint(string ruleId) => GrainFactory.GetGrain<IWebhookEndpointGrain>(WebhookEndpointGrain.Key(Slug, ruleId));

    private async Task AuthorizeAsync(Caller caller) =>
        await GrainFactory.GetGrain<IOrganizationGrain>(Slug).Authorize(caller, OrganizationActions.ManageNotifications);

    private Task AuditAsync(Caller caller, string action, string target) =>
        audit.AppendAsync(Slug, caller.UserId, action, target, caller.ClientAddress);

    private static NotificationRuleView View(NotificationRuleRecord r) =>
        new(r.Id, r.Channel, r.Events, r.Project, r.Roles, r.DisplayUrl, r.Enabled, r.DisabledReason, r.CreatedAt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Notification rule {RuleId} ({Channel}) added to {Organization}")]
    private static partial void LogAdded(ILogger logger, string organization, string ruleId, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification rule {RuleId} of {Organization} could not take event {EventType} ({EventId})")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, string organization, string ruleId, string eventType, string eventId);
}
