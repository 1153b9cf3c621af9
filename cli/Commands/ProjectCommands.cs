using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Config;
using CloudDeck.Cli.Output;
using Spectre.Console;

namespace CloudDeck.Cli.Commands;

/// <summary><c>deck link</c>, <c>init</c>, <c>ls</c>, <c>promote</c>, <c>rollback</c>: a project and its deployments.</summary>
public static class ProjectCommands
{
    private static Argument<string> DirectoryArgument() => new("dir")
    {
        Description = "The project's directory (default: the current one).",
        Arity = ArgumentArity.ZeroOrOne,
        DefaultValueFactory = _ => ".",
    };

    private static Option<string?> OrgOption() => new("--org") { Description = "The organization's slug (default: your only one, or asked)." };

    public static Command Link()
    {
        var dir = DirectoryArgument();
        var org = OrgOption();
        var project = new Option<string?>("--project") { Description = "The project's name (default: the directory's name)." };
        var command = new Command("link", "Link a directory to an existing project (writes .clouddeck/project.json).") { dir, org, project };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var directory = ExistingDirectory(parse.GetValue(dir)!);
            using var client = context.AuthenticatedClient();
            var link = new ProjectLink(
                parse.GetValue(org) ?? await ChooseOrgAsync(client, context, cancellationToken),
                parse.GetValue(project) ?? ProjectName(Path.GetFileName(directory)));
            try
            {
                await client.GetAsync(Context.ProjectPath(link), cancellationToken);
            }
            catch (ApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
            {
                throw new ApiException(e.Status, $"there is no project {link.Org}/{link.Project} (deck init creates it): {e.Message}");
            }

            link.Write(directory);
            context.Out.Line($"linked {directory} to {link.Org}/{link.Project}");
            return Program.Ok;
        }));
        return command;
    }

    public static Command Init()
    {
        var dir = DirectoryArgument();
        var org = OrgOption();
        var name = new Option<string?>("--name") { Description = "The project's name (default: the directory's name)." };
        var framework = new Option<string?>("--framework") { Description = "The framework (default: detected at build time)." };
        var install = new Option<string?>("--install-command") { Description = "Overrides the framework's install command." };
        var build = new Option<string?>("--build-command") { Description = "Overrides the framework's build command." };
        var output = new Option<string?>("--output-directory") { Description = "Overrides the framework's output directory." };
        var gitUrl = new Option<string?>("--git-url") { Description = "A repository to build from on git pushes (https or ssh)." };
        var branch = new Option<string?>("--production-branch") { Description = "The branch whose pushes deploy production (default: main)." };
        var command = new Command("init", "Create a project in an organization and link the directory to it.")
        {
            dir, org, name, framework, install, build, output, gitUrl, branch,
        };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var directory = ExistingDirectory(parse.GetValue(dir)!);
            using var client = context.AuthenticatedClient();
            var slug = parse.GetValue(org) ?? await ChooseOrgAsync(client, context, cancellationToken);
            var body = new JsonObject { ["name"] = parse.GetValue(name) ?? ProjectName(Path.GetFileName(directory)) };
            foreach (var (field, option) in new[]
                     {
                         ("framework", framework), ("install_command", install), ("build_command", build), ("output_directory", output),
                         ("git_url", gitUrl), ("production_branch", branch),
                     })
            {
                if (parse.GetValue(option) is { } value) body[field] = value;
            }

            var created = await client.PostAsync($"api/v1/orgs/{Context.Escape(slug)}/projects", body, cancellationToken);
            var link = new ProjectLink(slug, Fields.Text(created, "name") ?? body["name"]!.GetValue<string>());
            link.Write(directory);
            context.Out.Line($"created {link.Org}/{link.Project} and linked {directory} to it");
            if (Fields.Text(created, "production_host") is { } host) context.Out.Note($"production: {host}");
            // The API answers the webhook secret this once. It only matters for a git project, so it is printed only
            // then; for an upload-only project it would be a secret in a terminal log for nothing.
            if (parse.GetValue(gitUrl) is not null && Fields.Text(created, "webhook_secret") is { } secret)
            {
                context.Out.Line($"git push webhook: POST {new Uri(context.Api, $"api/v1/orgs/{Context.Escape(link.Org)}/projects/{Context.Escape(link.Project)}/hooks/git")}");
                context.Out.Line($"webhook secret (shown once; set it as the webhook's secret): {secret}");
            }
            return Program.Ok;
        }));
        return command;
    }

    public static Command List()
    {
        var limit = new Option<int>("--limit") { Description = "How many deployments, newest first.", DefaultValueFactory = _ => 20 };
        var command = new Command("ls", "List the deployments of the linked project, newest first.") { limit };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            using var client = context.AuthenticatedClient();
            var project = await client.GetAsync(Context.ProjectPath(link), cancellationToken);
            var production = Fields.Text(project, "production_deployment_id");
            var deployments = await client.ListAsync($"{Context.ProjectPath(link)}/deployments", Math.Max(1, parse.GetValue(limit)), cancellationToken);
            var rows = deployments.Select(d => (IReadOnlyList<string>)
            [
                Fields.Text(d, "id") ?? "?",
                Fields.Text(d, "target") ?? "",
                Fields.Text(d, "status") ?? "",
                Format.Time(DateTimeOffset.TryParse(Fields.Text(d, "created_at"), System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.None, out var at) ? at : null),
                Fields.Text(d, "url") ?? "",
                Fields.Text(d, "id") == production ? "production" : "",
            ]).ToList();
            if (rows.Count == 0) context.Out.Note($"no deployments of {link.Org}/{link.Project} yet: deck deploy makes one");
            else context.Out.Table(["id", "target", "status", "created", "url", "serving"], rows);
            return Program.Ok;
        }));
        return command;
    }

    public static Command Promote()
    {
        var id = new Argument<string>("deployment-id") { Description = "The deployment to serve at the production URL." };
        var command = new Command("promote", "Point the project's production URL at a deployment (no rebuild).") { id };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var deployment = parse.GetValue(id)!;
            using var client = context.AuthenticatedClient();
            // An empty object rather than no body: the API reads every POST body as a JSON object.
            var answer = await client.PostAsync($"api/v1/deployments/{Context.Escape(deployment)}/promote", new JsonObject(), cancellationToken);
            context.Out.Line($"production now serves {ServedId(answer) ?? deployment}");
            return Program.Ok;
        }));
        return command;
    }

    public static Command Rollback()
    {
        var id = new Argument<string?>("deployment-id")
        {
            Description = "The deployment to go back to (default: the production deployment before the current one).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("rollback", "Point the linked project's production URL back at an earlier deployment (no rebuild).") { id };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            var (link, _) = Context.Linked(".");
            using var client = context.AuthenticatedClient();
            var target = parse.GetValue(id);
            var body = target is null ? new JsonObject() : new JsonObject { ["deployment_id"] = target };
            var answer = await client.PostAsync($"{Context.ProjectPath(link)}/rollback", body, cancellationToken);
            var served = ServedId(answer) ?? Fields.Text(await client.GetAsync(Context.ProjectPath(link), cancellationToken), "production_deployment_id");
            context.Out.Line($"production now serves {served ?? target ?? "the previous production deployment"}");
            return Program.Ok;
        }));
        return command;
    }

    /// <summary>The deployment rollback answered (a deployment view): the one production now serves.</summary>
    private static string? ServedId(JsonNode? answer) => Fields.Text(answer, "id");

    /// <summary>A DNS-label-like project name from a directory name ("My Site_2" → "my-site-2").</summary>
    public static string ProjectName(string directoryName)
    {
        var name = new StringBuilder();
        foreach (var c in directoryName.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9') name.Append(c);
            else if (name.Length > 0 && name[^1] != '-') name.Append('-');
        }

        var text = name.ToString().Trim('-');
        text = text.TrimStart("0123456789-".ToCharArray());
        if (text.Length > 40) text = text[..40].TrimEnd('-');
        return text.Length == 0 ? "site" : text;
    }

    private static string ExistingDirectory(string path) =>
        Directory.Exists(path) ? Path.GetFullPath(path) : throw new UsageException($"{path} is not a directory");

    /// <summary>The organization a command is about: <c>--org</c>, else the linked project's, else the user's only one (or asked).</summary>
    internal static async Task<string> OrganizationAsync(string? option, ApiClient client, Context context, CancellationToken cancellationToken) =>
        option ?? ProjectLink.Find(".")?.Link.Org ?? await ChooseOrgAsync(client, context, cancellationToken);

    internal static async Task<string> ChooseOrgAsync(ApiClient client, Context context, CancellationToken cancellationToken)
    {
        var me = await client.GetAsync("api/v1/me", cancellationToken);
        var slugs = Fields.Items(Fields.Get(me, "organizations")).Select(o => Fields.Text(o, "slug")).OfType<string>().ToList();
        if (slugs.Count == 1) return slugs[0];
        if (slugs.Count == 0) throw new UsageException("you are not a member of any organization");
        if (!context.Out.Rich || Console.IsInputRedirected)
        {
            throw new UsageException($"you are in several organizations ({string.Join(", ", slugs)}): pass --org");
        }

        return AnsiConsole.Prompt(new SelectionPrompt<string>().Title("Which organization?").AddChoices(slugs));
    }
}
