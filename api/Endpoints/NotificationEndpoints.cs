using System.Globalization;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Grains.Notifications;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>/api/v1/orgs/{slug}/notifications</c>: an organization's notification rules (which events go to email by role, a
/// signed webhook or a Slack-compatible one), and each webhook rule's delivery log and redelivery. Admins and owners
/// only; the rules grain decides, including which webhook URLs are refused (a 400 on <c>url</c> naming the reason).
/// </summary>
public static class NotificationEndpoints
{
    private const string Tag = "Notifications";

    /// <summary>The organization's rules, oldest first (an organization has at most <see cref="NotificationRulesGrain.MaxRules"/>).</summary>
    public sealed record NotificationRulePage(IReadOnlyList<NotificationRuleView> Items, string? NextCursor);

    /// <summary>A new rule; <c>secret</c> (webhook rules only) signs its deliveries and is never shown again.</summary>
    public sealed record CreatedRuleBody(NotificationRuleView Rule, string? Secret);

    /// <param name="Channel">email, webhook or slack.</param>
    /// <param name="Events">Any of deployment.ready, deployment.failed, deployment.promoted, deployment.rolled_back, build.failed, server.crashed_repeatedly, quota.near_limit, quota.reached, payment.failed.</param>
    /// <param name="Project">Only this project's events (organization-wide events never match a project rule); absent for all.</param>
    /// <param name="Roles">Email rules: the member roles that receive it (owner, admin, developer, viewer).</param>
    /// <param name="Url">Webhook and Slack rules: where to POST (http or https, public addresses unless the operator allows private ones).</param>
    public sealed record AddRuleBody(string Channel, IReadOnlyList<string> Events, string? Project = null, IReadOnlyList<string>? Roles = null, string? Url = null);

    public static RouteGroupBuilder MapNotificationEndpoints(this RouteGroupBuilder api)
    {
        var rules = api.MapGroup("/orgs/{slug}/notifications").SignedIn().WithTags(Tag).Refuses(400, 404).AddEndpointFilter(async (context, next) =>
        {
            var values = context.HttpContext.Request.RouteValues;
            if (values["slug"] is not string slug || !RouteValues.IsSlug(slug)) return JsonBody.FieldProblem("slug", RouteValues.SlugRule);
            if (values.TryGetValue("rule_id", out var rule) && !NotificationRuleIds.IsWellFormed(rule as string)) return JsonBody.FieldProblem("rule_id", NotificationRuleIds.Rule);
            if (values.TryGetValue("delivery_id", out var delivery) && !WebhookDeliveryIds.IsWellFormed(delivery as string))
            {
                return JsonBody.FieldProblem("delivery_id", WebhookDeliveryIds.Rule);
            }

            return await next(context);
        });

        rules.MapGet("", async (string slug, HttpContext http, IGrainFactory grains) =>
                TypedResults.Ok(new NotificationRulePage(await Rules(grains, slug).List(http.Caller()), null)))
            .Describe("listNotificationRules", "List the organization's notification rules").Answers<NotificationRulePage>();
        rules.MapPost("", AddAsync).Describe("addNotificationRule", "Send events to email, a signed webhook or a Slack-compatible webhook",
                "A webhook rule's answer carries its signing secret, this once. Webhook URLs that resolve to loopback, private or link-local addresses are refused (400 on url) unless the operator allows them.")
            .Takes<AddRuleBody>().Answers<CreatedRuleBody>(StatusCodes.Status201Created).Refuses(StatusCodes.Status409Conflict);
        rules.MapGet("/{rule_id}", async (string slug, string rule_id, HttpContext http, IGrainFactory grains) =>
                TypedResults.Ok(await Rules(grains, slug).Get(http.Caller(), rule_id)))
            .Describe("getNotificationRule", "A notification rule (never its secret, nor a Slack URL's path)").Answers<NotificationRuleView>();
        rules.MapDelete("/{rule_id}", async (string slug, string rule_id, HttpContext http, IGrainFactory grains) =>
            {
                await Rules(grains, slug).Remove(http.Caller(), rule_id);
                return TypedResults.NoContent();
            })
            .Describe("removeNotificationRule", "Remove a notification rule (its pending deliveries stop)").AnswersEmpty();
        rules.MapPost("/{rule_id}/enable", async (string slug, string rule_id, HttpContext http, IGrainFactory grains) =>
                TypedResults.Ok(await Rules(grains, slug).Enable(http.Caller(), rule_id)))
            .Describe("enableNotificationRule", "Turn a webhook that was disabled after repeated failures back on").Answers<NotificationRuleView>();
        rules.MapGet("/{rule_id}/deliveries", ListDeliveriesAsync)
            .Describe("listWebhookDeliveries", "A webhook rule's deliveries, newest first: status, response code, duration and every attempt")
            .Answers<DeliveryPage>();
        rules.MapPost("/{rule_id}/deliveries/{delivery_id}/redeliver", async (string slug, string rule_id, string delivery_id, HttpContext http, IGrainFactory grains) =>
                TypedResults.Accepted((string?)null, await Endpoint(grains, slug, rule_id).Redeliver(http.Caller(), delivery_id)))
            .Describe("redeliverWebhook", "Send a delivery's event again, with the same event id and body (signed afresh)")
            .Answers<WebhookDeliveryView>(StatusCodes.Status202Accepted).Refuses(StatusCodes.Status409Conflict);
        return api;
    }

    private static INotificationRulesGrain Rules(IGrainFactory grains, string slug) => grains.GetGrain<INotificationRulesGrain>(slug);

    private static IWebhookEndpointGrain Endpoint(IGrainFactory grains, string slug, string ruleId) =>
        grains.GetGrain<IWebhookEndpointGrain>(WebhookEndpointGrain.Key(slug, ruleId));

    private static async Task<IResult> AddAsync(string slug, HttpContext http, IGrainFactory grains)
    {
        var body = await JsonBody.ReadAsync(http.Request);
        var channel = body.String("channel", 20);
        if (channel is not null && !NotificationChannels.All.Contains(channel)) body.Fail("channel", $"must be one of {string.Join(", ", NotificationChannels.All)}");
        var events = body.StringList("events", NotificationEventTypes.All.Count, 64);
        var project = body.String("project", 40, required: false);
        var roles = body.Has("roles") ? body.StringList("roles", 4, 20) : null;
        var url = body.String("url", WebhookTargets.MaxUrlLength, required: false);
        if (body.Problem() is { } invalid) return invalid;
        var created = await Rules(grains, slug).Add(http.Caller(), new NotificationRuleSpec(channel!, events!, project, roles, url));
        return TypedResults.Created($"/api/v1/orgs/{slug}/notifications/{created.Rule.Id}", new CreatedRuleBody(created.Rule, created.Secret));
    }

    private static async Task<IResult> ListDeliveriesAsync(string slug, string rule_id, HttpContext http, IGrainFactory grains)
    {
        var query = http.Request.Query;
        var limit = 20;
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > WebhookEndpointGrain.MaxPageSize))
        {
            return JsonBody.FieldProblem("limit", $"must be a whole number from 1 to {WebhookEndpointGrain.MaxPageSize}");
        }

        long? before = null;
        if (query.TryGetValue("cursor", out var cursorText))
        {
            if (!long.TryParse(cursorText, NumberStyles.None, CultureInfo.InvariantCulture, out var cursor) || cursor < 1)
            {
                return JsonBody.FieldProblem("cursor", "must be the next_cursor of an earlier page");
            }

            before = cursor;
        }

        // The rule is looked up first, so an unknown rule (or another organization's) is a 404 whatever its endpoint holds.
        await Rules(grains, slug).Get(http.Caller(), rule_id);
        var page = await Endpoint(grains, slug, rule_id).ListDeliveries(http.Caller(), before, limit);
        return TypedResults.Ok(new DeliveryPage(page.Items, page.NextCursor?.ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>One page of deliveries; <c>next_cursor</c> continues after the page's last (oldest) one.</summary>
    public sealed record DeliveryPage(IReadOnlyList<WebhookDeliveryView> Items, string? NextCursor);
}
