using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;

namespace CloudDeck.Cli.Commands;

/// <summary><c>deck billing status|upgrade|portal</c>: an organization's plan and payments on Stripe.</summary>
public static class BillingCommands
{
    public static Command Create()
    {
        var command = new Command("billing", "The organization's plan, payments and Stripe links.");
        command.Subcommands.Add(Status());
        command.Subcommands.Add(Upgrade());
        command.Subcommands.Add(Portal());
        return command;
    }

    private static Option<string?> OrgOption() =>
        new("--org") { Description = "The organization's slug (default: the linked project's, else your only one)." };

    private static Option<bool> NoOpenOption() => new("--no-open") { Description = "Print the link without opening a browser." };

    private static Command Status()
    {
        var org = OrgOption();
        var command = new Command("status", "Show the plan, the subscription, the payment state and how far usage has reached Stripe.") { org };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            var status = await client.GetAsync($"api/v1/orgs/{Context.Escape(slug)}/billing", cancellationToken);
            var reporting = Fields.Get(status, "usage_reporting");
            var lag = (Fields.Number(reporting, "meter_sequence") ?? 0) - (Fields.Number(reporting, "reported_sequence") ?? 0);
            context.Out.Table(["", ""],
            [
                ["organization", slug],
                ["plan", Fields.Text(status, "plan") ?? ""],
                ["subscription", Fields.Text(status, "subscription_status") ?? "none"],
                ["renews", Fields.Flag(status, "cancel_at_period_end") ? $"no: ends {Fields.Text(status, "current_period_end")}" : Fields.Text(status, "current_period_end") ?? "-"],
                ["payment", Fields.Text(status, "payment_state") + (Fields.Text(status, "grace_ends_at") is { } grace ? $" (grace until {grace})" : "")],
                ["usage not yet reported", $"{lag.ToString(CultureInfo.InvariantCulture)} stream items, {Fields.Number(reporting, "pending_meter_events") ?? 0} meter events pending"],
            ]);
            return Program.Ok;
        }));
        return command;
    }

    private static Command Upgrade()
    {
        var plan = new Argument<string>("plan") { Description = "The paid plan: pro or team." };
        var org = OrgOption();
        var noOpen = NoOpenOption();
        var command = new Command("upgrade", "Open Stripe Checkout for a paid plan; the plan changes once Stripe confirms the payment.") { plan, org, noOpen };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            var link = await client.PostAsync($"api/v1/orgs/{Context.Escape(slug)}/billing/upgrade", new JsonObject { ["plan"] = parse.GetValue(plan) }, cancellationToken);
            Show(context, Fields.Text(link, "url")!, parse.GetValue(noOpen),
                Fields.Text(link, "kind") == "portal" ? "change the plan in Stripe's portal:" : "pay at Stripe Checkout:");
            context.Out.Note("the plan changes when Stripe confirms; see it with deck billing status");
            return Program.Ok;
        }));
        return command;
    }

    private static Command Portal()
    {
        var org = OrgOption();
        var noOpen = NoOpenOption();
        var command = new Command("portal", "Open Stripe's customer portal: cards, invoices, plan changes.") { org, noOpen };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            var slug = await ProjectCommands.OrganizationAsync(parse.GetValue(org), client, context, cancellationToken);
            var link = await client.PostAsync($"api/v1/orgs/{Context.Escape(slug)}/billing/portal", null, cancellationToken);
            Show(context, Fields.Text(link, "url")!, parse.GetValue(noOpen), "Stripe's portal:");
            return Program.Ok;
        }));
        return command;
    }

    /// <summary>Prints the link, and on an interactive terminal opens it in the browser (best effort: the link is printed either way).</summary>
    private static void Show(Context context, string url, bool noOpen, string what)
    {
        context.Out.Line($"{what} {url}");
        if (noOpen || !context.Out.Rich || Console.IsInputRedirected) return;
        try
        {
            using var browser = Process.Start(new ProcessStartInfo(url) { UseShellExecute = true });
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            context.Out.Note("could not open a browser; open the link above");
        }
    }
}
