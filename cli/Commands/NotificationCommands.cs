using System.CommandLine;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;

namespace CloudDeck.Cli.Commands;

/// <summary>
/// <c>deck notifications ls|add|rm|enable|deliveries|redeliver</c>: an organization's notification rules (events to
/// email by role, to a signed webhook or to Slack) and a webhook's deliveries.
/// </summary>
public static class NotificationCommands
{
    private static readonly string[] Channels = ["email", "webhook", "slack"];

    public static Command Create()
    {
        var command = new Command("notifications", "Send deployment, build, quota and payment events to email, webhooks or Slack.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Add());
        command.Subcommands.Add(Remove());
        command.Subcommands.Add(Enable());
        command.Subcommands.Add(Deliveries());
        command.Subcommands.Add(Redeliver());
        return command;
    }

    private static Option<string?> OrgOption() =>
        new("--org") { Description = "The organization's slug (default: the linked project's, else your only one)." };

    private static Argument<string> RuleArgument() => new("rule-id") { Description = "The rule's id (deck notifications ls)." };

    private static string RulesPath(string slug) => $"api/v1/orgs/{Context.Escape(slug)}/notifications";

    private static Command List()
    {
        var org = OrgOption();
        var command = new Command("ls", "List the organization's notification rules.") { org };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            var rules = await client.ListAsync(RulesPath(slug), cancellationToken: cancellationToken);
            if (rules.Count == 0) context.Out.Note($"no notification rules in {slug}");
            else context.Out.Table(["id", "channel", "events", "project", "to", "state"], [.. rules.Select(Row)]);
            return Program.Ok;
        }));
        return command;
    }

    private static Command Add()
    {
        var org = OrgOption();
        var channel = new Option<string>("--channel") { Description = "email, webhook or slack.", Required = true }.AcceptOnlyFromAmong(Channels);
        var events = new Option<string[]>("--event")
        {
            Description = "An event to send (repeat for more): deployment.ready, deployment.failed, deployment.promoted, deployment.rolled_back, " +
                          "build.failed, server.crashed_repeatedly, quota.near_limit, quota.reached, payment.failed.",
            Required = true, AllowMultipleArgumentsPerToken = true,
        };
        var project = new Option<string?>("--project") { Description = "Only this project's events (default: every project's)." };
        var roles = new Option<string[]>("--role") { Description = "Email: the member roles that receive it (owner, admin, developer, viewer).", AllowMultipleArgumentsPerToken = true };
        var url = new Option<string?>("--url") { Description = "Webhook and Slack: where to POST." };
        var command = new Command("add", "Add a rule; a webhook's signing secret is printed this once.") { org, channel, events, project, roles, url };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            var body = new JsonObject
            {
                ["channel"] = parse.GetValue(channel),
                ["events"] = new JsonArray([.. parse.GetValue(events)!.Select(e => (JsonNode)e)]),
            };
            if (parse.GetValue(project) is { } onlyProject) body["project"] = onlyProject;
            if (parse.GetValue(roles) is { Length: > 0 } chosen) body["roles"] = new JsonArray([.. chosen.Select(r => (JsonNode)r)]);
            if (parse.GetValue(url) is { } target) body["url"] = target;
            var created = await client.PostAsync(RulesPath(slug), body, cancellationToken);
            var rule = Fields.Get(created, "rule");
            context.Out.Line($"added rule {Fields.Text(rule, "id")} ({Fields.Text(rule, "channel")}) to {slug}");
            if (Fields.Text(created, "secret") is { } secret)
            {
                // Shown once: the API never answers it again. Receivers check CloudDeck-Signature with it.
                context.Out.Line($"signing secret: {secret}");
                context.Out.Note("keep it now: it is not shown again (the CloudDeck-Signature header is HMAC-SHA256 with it)");
            }

            return Program.Ok;
        }));
        return command;
    }

    private static Command Remove()
    {
        var org = OrgOption();
        var rule = RuleArgument();
        var command = new Command("rm", "Remove a rule (its pending deliveries stop).") { rule, org };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            await client.SendAsync(HttpMethod.Delete, $"{RulesPath(slug)}/{Context.Escape(parse.GetValue(rule)!)}", null, cancellationToken);
            context.Out.Line($"removed rule {parse.GetValue(rule)}");
            return Program.Ok;
        }));
        return command;
    }

    private static Command Enable()
    {
        var org = OrgOption();
        var rule = RuleArgument();
        var command = new Command("enable", "Turn a webhook that was disabled after repeated failures back on.") { rule, org };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            var view = await client.PostAsync($"{RulesPath(slug)}/{Context.Escape(parse.GetValue(rule)!)}/enable", null, cancellationToken);
            context.Out.Line($"rule {Fields.Text(view, "id")} is {(Fields.Flag(view, "enabled") ? "enabled" : "disabled")}");
            return Program.Ok;
        }));
        return command;
    }

    private static Command Deliveries()
    {
        var org = OrgOption();
        var rule = RuleArgument();
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first.", DefaultValueFactory = _ => 20 };
        var command = new Command("deliveries", "A webhook rule's deliveries, newest first: status, response code, attempts.") { rule, org, limit };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            var deliveries = await client.ListAsync($"{RulesPath(slug)}/{Context.Escape(parse.GetValue(rule)!)}/deliveries", Math.Max(1, parse.GetValue(limit)), cancellationToken);
            if (deliveries.Count == 0) context.Out.Note("no deliveries yet");
            else context.Out.Table(["id", "event", "type", "status", "code", "attempts", "created"], [.. deliveries.Select(DeliveryRow)]);
            return Program.Ok;
        }));
        return command;
    }

    private static Command Redeliver()
    {
        var org = OrgOption();
        var rule = RuleArgument();
        var delivery = new Argument<string>("delivery-id") { Description = "The delivery to send again (same event id and body)." };
        var command = new Command("redeliver", "Send a delivery's event again, with the same event id.") { rule, delivery, org };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            var again = await client.PostAsync(
                $"{RulesPath(slug)}/{Context.Escape(parse.GetValue(rule)!)}/deliveries/{Context.Escape(parse.GetValue(delivery)!)}/redeliver", null, cancellationToken);
            context.Out.Line($"redelivery {Fields.Text(again, "id")} of event {Fields.Text(again, "event_id")}: {Fields.Text(again, "status")}");
            return Program.Ok;
        }));
        return command;
    }

    private static IReadOnlyList<string> Row(JsonNode rule) =>
    [
        Fields.Text(rule, "id") ?? "",
        Fields.Text(rule, "channel") ?? "",
        string.Join(',', Fields.Items(rule, "events").Select(e => e.GetValue<string>())),
        Fields.Text(rule, "project") ?? "*",
        Fields.Text(rule, "url") ?? string.Join(',', Fields.Items(rule, "roles").Select(r => r.GetValue<string>())),
        Fields.Flag(rule, "enabled") ? "enabled" : "disabled: " + Fields.Text(rule, "disabled_reason"),
    ];

    private static IReadOnlyList<string> DeliveryRow(JsonNode delivery) =>
    [
        Fields.Text(delivery, "id") ?? "",
        Fields.Text(delivery, "event_id") ?? "",
        Fields.Text(delivery, "event_type") ?? "",
        Fields.Text(delivery, "status") ?? "",
        Fields.Number(delivery, "response_code")?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
        Fields.Items(delivery, "attempts").Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Fields.Text(delivery, "created_at") ?? "",
    ];
}
