using System.CommandLine;
using System.Net;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Deploy;
using CloudDeck.Cli.Logs;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Commands;

/// <summary>
/// <c>deck deploy [dir] [--prod]</c>: upload what the API lacks, create the deployment, follow its build, and print
/// the deployment's URL as the last line of stdout (so <c>deck deploy | tail -1</c> is the URL).
/// </summary>
public static class DeployCommand
{
    /// <summary>
    /// How long deck waits after the build for the deployment to be ready: longer than a server's health check may take
    /// (CloudDeck:Servers:HealthCheckTimeout, 60 s by default) plus placing its files and a restart after a crash.
    /// </summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromMinutes(3);

    public static Command Create()
    {
        var dir = new Argument<string>("dir")
        {
            Description = "The folder to deploy (default: the current one). It, or an ancestor, must be linked.",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => ".",
        };
        var prod = new Option<bool>("--prod") { Description = "Deploy to production (default: a preview)." };
        var command = new Command("deploy", "Upload a folder, build it, and print the deployment's URL.") { dir, prod };
        command.SetAction(Program.Guarded((parse, cancellationToken) => RunAsync(Context.From(parse), parse.GetValue(dir)!, parse.GetValue(prod), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(Context context, string dir, bool production, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(dir)) throw new UsageException($"{dir} is not a directory");
        var (link, _) = Context.Linked(dir);
        using var client = context.AuthenticatedClient();
        var output = context.Out;
        var deployer = new Deployer(client, output);

        var files = FileScanner.List(dir);
        if (files.Count == 0) throw new UsageException($"{Path.GetFullPath(dir)} has no files to deploy");
        var hashed = await deployer.HashAsync(files, cancellationToken);
        output.Note(Format.HashSummary(hashed.Count, hashed.Sum(f => f.Size)));

        var upload = await deployer.UploadAsync(link.Org, hashed, cancellationToken);
        output.Line(Format.UploadSummary(upload.Uploaded, upload.UploadedBytes, upload.AlreadyStored));

        var deployment = await deployer.CreateAsync(link, hashed, production, cancellationToken);
        var id = Fields.Text(deployment, "id") ?? throw new ApiException(HttpStatusCode.BadGateway, "the API answered a deployment without an id");
        var buildId = Fields.Text(deployment, "build_id");
        output.Note($"deployment {id} ({(production ? "production" : "preview")}) of {link.Org}/{link.Project}, build {buildId ?? "-"}");

        // Asked now, answered while the build runs: the production host is printed the moment the deployment is ready.
        var project = production ? client.GetAsync(Context.ProjectPath(link), cancellationToken) : null;
        if (buildId is not null)
        {
            var status = await new BuildLogFollower(client).FollowAsync(buildId, line => output.Line(Format.LogLine(line.Stream, line.Text)), cancellationToken);
            if (status != "succeeded")
            {
                Terminal.Error($"build {buildId} of deployment {id} ended {status}; nothing was published (deck logs {id} shows the log again)");
                return Program.Failed;
            }
        }

        var settled = await deployer.SettledAsync(id, SettleTimeout, cancellationToken);
        var final = Fields.Text(settled, "status");
        if (final != "ready")
        {
            var reason = Fields.Text(settled, "error") is { } error ? $": {error}" : "";
            Terminal.Error($"deployment {id} is {final ?? "in an unknown state"}, not ready{reason}");
            return Program.Failed;
        }

        // The hosts the API answers are the ones this project holds (a name another tenant holds gets a suffix).
        if (Fields.Text(settled, "preview_url") is { } preview) output.Note($"preview: {preview}");
        if (project is not null)
        {
            if (Fields.Text(await project, "production_host") is { } host) output.Note($"production: {Production(Fields.Text(settled, "url"), host)}");
        }

        // The URL last and alone on stdout: scripts take it with tail -1.
        Console.Out.WriteLine(Fields.Text(settled, "url") ?? Fields.Text(deployment, "url"));
        return Program.Ok;
    }

    /// <summary>The production host as a URL with the deployment URL's scheme and port (the edge serves both the same way).</summary>
    public static string Production(string? deploymentUrl, string host) =>
        Uri.TryCreate(deploymentUrl, UriKind.Absolute, out var url) ? new UriBuilder(url) { Host = host, Path = "/" }.Uri.ToString() : host;
}
