using System.CommandLine;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;

namespace CloudDeck.Cli.Commands;

/// <summary><c>deck domains add|ls|rm|verify</c>: the linked project's custom domains, their verification and certificates.</summary>
public static class DomainCommands
{
    public static Command Create()
    {
        var command = new Command("domains", "Manage the linked project's custom domains.");
        command.Subcommands.Add(Add());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Remove());
        command.Subcommands.Add(Verify());
        return command;
    }

    private static Argument<string> DomainArgument() => new("domain") { Description = "The domain, such as shop.example.com." };

    private static Command Add()
    {
        var domain = DomainArgument();
        var hsts = new Option<bool>("--hsts") { Description = "Send Strict-Transport-Security over HTTPS." };
        var redirect = new Option<string?>("--redirect") { Description = "to_www, to_apex or none: send visitors to the www or apex twin." }
            .AcceptOnlyFromAmong("none", "to_www", "to_apex");
        var command = new Command("add", "Add a custom domain and show the DNS record that proves it is yours.") { domain, hsts, redirect };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            using var client = context.AuthenticatedClient();
            var body = new JsonObject { ["domain"] = parse.GetValue(domain) };
            if (parse.GetValue(hsts)) body["hsts"] = true;
            if (parse.GetValue(redirect) is { } chosen) body["redirect"] = chosen;
            var view = await client.PostAsync($"{Context.ProjectPath(link)}/domains", body, cancellationToken);
            Describe(context, view);
            return Program.Ok;
        }));
        return command;
    }

    private static Command List()
    {
        var command = new Command("ls", "List the project's domains with their verification and certificate state.");
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            using var client = context.AuthenticatedClient();
            var rows = new List<IReadOnlyList<string>>();
            string? cursor = null;
            do
            {
                var page = await client.GetAsync($"{Context.ProjectPath(link)}/domains?limit=100{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}", cancellationToken);
                rows.AddRange(Fields.Items(page, "items").Select(Row));
                cursor = Fields.Text(page, "next_cursor");
            }
            while (cursor is not null);

            if (rows.Count == 0) context.Out.Note($"no domains on {link.Org}/{link.Project}");
            else context.Out.Table(["domain", "status", "certificate", "expires"], rows);
            return Program.Ok;
        }));
        return command;
    }

    private static Command Remove()
    {
        var domain = DomainArgument();
        var command = new Command("rm", "Remove a custom domain (the edge stops serving it at once).") { domain };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            using var client = context.AuthenticatedClient();
            await client.SendAsync(HttpMethod.Delete, $"{Context.ProjectPath(link)}/domains/{Context.Escape(parse.GetValue(domain)!)}", null, cancellationToken);
            context.Out.Line($"removed {parse.GetValue(domain)}");
            return Program.Ok;
        }));
        return command;
    }

    private static Command Verify()
    {
        var domain = DomainArgument();
        var command = new Command("verify", "Check the domain's DNS now (its certificate is ordered once it is verified).") { domain };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            using var client = context.AuthenticatedClient();
            var view = await client.PostAsync($"{Context.ProjectPath(link)}/domains/{Context.Escape(parse.GetValue(domain)!)}/verify", null, cancellationToken);
            Describe(context, view);
            return Program.Ok;
        }));
        return command;
    }

    private static IReadOnlyList<string> Row(JsonNode domain)
    {
        var certificate = Fields.Get(domain, "certificate");
        return
        [
            Fields.Text(domain, "domain") ?? "",
            Fields.Text(domain, "status") ?? "",
            Fields.Text(certificate, "status") ?? "",
            Fields.Text(certificate, "not_after") ?? "",
        ];
    }

    private static void Describe(Context context, JsonNode? view)
    {
        var name = Fields.Text(view, "domain");
        var verification = Fields.Get(view, "verification");
        var certificate = Fields.Get(view, "certificate");
        if (Fields.Text(view, "status") == "verified")
        {
            context.Out.Line($"{name} is verified; certificate: {Fields.Text(certificate, "status")}");
            if (Fields.Text(certificate, "error") is { } error) context.Out.Line($"last certificate attempt failed: {error} (next attempt {Fields.Text(certificate, "next_attempt_at")})");
            return;
        }

        context.Out.Line($"{name} is pending verification. Add this DNS record:");
        context.Out.Line($"  TXT  {Fields.Text(verification, "txt_name")}  \"{Fields.Text(verification, "txt_value")}\"");
        if (Fields.Text(verification, "target") is { Length: > 0 } target) context.Out.Line($"  or point {name} at {target} (CNAME, or A records)");
        if (Fields.Text(verification, "problem") is { } problem) context.Out.Note(problem);
        context.Out.Line($"then run: deck domains verify {name}");
    }
}
