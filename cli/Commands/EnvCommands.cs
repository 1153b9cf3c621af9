using System.CommandLine;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Output;
using Spectre.Console;

namespace CloudDeck.Cli.Commands;

/// <summary><c>deck env ls|set|rm</c>: the linked project's environment variables (values are never shown back).</summary>
public static class EnvCommands
{
    public static readonly string[] Environments = ["production", "preview"];

    public static Command Create()
    {
        var command = new Command("env", "Manage the linked project's environment variables.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Set());
        command.Subcommands.Add(Remove());
        return command;
    }

    private static Option<string[]> EnvironmentOption() => new Option<string[]>("--environment", "-e")
    {
        Description = "production or preview; repeat for both (default: both).",
        AllowMultipleArgumentsPerToken = false,
    }.AcceptOnlyFromAmong(Environments);

    private static Command List()
    {
        var command = new Command("ls", "List the variables (values masked).");
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            using var client = context.AuthenticatedClient();
            var variables = await client.ListAsync($"{Context.ProjectPath(link)}/env", cancellationToken: cancellationToken);
            var rows = variables.Select(v => (IReadOnlyList<string>)
            [
                Fields.Text(v, "environment") ?? "",
                Fields.Text(v, "name") ?? "",
                Fields.Text(v, "value") ?? "***",
            ]).ToList();
            if (rows.Count == 0) context.Out.Note($"no environment variables in {link.Org}/{link.Project}");
            else context.Out.Table(["environment", "name", "value"], rows);
            return Program.Ok;
        }));
        return command;
    }

    private static Command Set()
    {
        var name = new Argument<string>("name") { Description = "The variable's name." };
        var value = new Argument<string?>("value")
        {
            Description = "The value (default: read from stdin, or asked for without echo on a terminal).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var environments = EnvironmentOption();
        var command = new Command("set", "Set a variable for the next deployments.") { name, value, environments };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            var text = parse.GetValue(value);
            if (text is null)
            {
                // Reading the secret from stdin keeps it out of shell history and the process list.
                text = Console.IsInputRedirected
                    ? (await Console.In.ReadToEndAsync(cancellationToken)).TrimEnd('\r', '\n')
                    : AnsiConsole.Prompt(new TextPrompt<string>($"Value of {parse.GetValue(name)}:").Secret().AllowEmpty());
            }

            using var client = context.AuthenticatedClient();
            var targets = Targets(parse.GetValue(environments));
            foreach (var environment in targets)
            {
                await client.SendAsync(HttpMethod.Put, Path(link, environment, parse.GetValue(name)!), new JsonObject { ["value"] = text }, cancellationToken);
            }

            context.Out.Line($"set {parse.GetValue(name)} in {string.Join(", ", targets)}");
            return Program.Ok;
        }));
        return command;
    }

    private static Command Remove()
    {
        var name = new Argument<string>("name") { Description = "The variable's name." };
        var environments = EnvironmentOption();
        var command = new Command("rm", "Remove a variable.") { name, environments };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            using var client = context.AuthenticatedClient();
            var targets = Targets(parse.GetValue(environments));
            foreach (var environment in targets)
            {
                await client.SendAsync(HttpMethod.Delete, Path(link, environment, parse.GetValue(name)!), null, cancellationToken);
            }

            context.Out.Line($"removed {parse.GetValue(name)} from {string.Join(", ", targets)}");
            return Program.Ok;
        }));
        return command;
    }

    private static IReadOnlyList<string> Targets(string[]? chosen) => chosen is { Length: > 0 } ? [.. chosen.Distinct()] : Environments;

    private static string Path(Config.ProjectLink link, string environment, string name) =>
        $"{Context.ProjectPath(link)}/env/{Context.Escape(environment)}/{Context.Escape(name)}";
}
