using System.CommandLine;
using System.Net;
using CloudDeck.Cli.Api;
using CloudDeck.Cli.Logs;
using CloudDeck.Cli.Output;

namespace CloudDeck.Cli.Commands;

/// <summary>
/// <c>deck logs &lt;id&gt; [-f]</c>: a build's log, by the build's id or its deployment's; with <c>--runtime</c> a server
/// deployment's runtime log (its stdout/stderr), which <c>-f</c> follows until Ctrl+C.
/// </summary>
public static class LogsCommand
{
    public static Command Create()
    {
        var id = new Argument<string>("id") { Description = "A deployment id or a build id." };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing lines until the build ends (with --runtime: until Ctrl+C)." };
        var runtime = new Option<bool>("--runtime") { Description = "The server deployment's runtime log (its stdout/stderr) instead of its build log." };
        var command = new Command("logs", "Print the build log of a deployment or build, or a server deployment's runtime log.") { id, follow, runtime };
        command.SetAction(Program.Guarded(async (parse, cancellationToken) =>
        {
            var context = Context.From(parse);
            using var client = context.AuthenticatedClient();
            if (parse.GetValue(runtime)) return await RuntimeAsync(context, client, parse.GetValue(id)!, parse.GetValue(follow), cancellationToken);
            var buildId = await BuildIdAsync(client, parse.GetValue(id)!, cancellationToken);
            var logs = new BuildLogFollower(client);
            if (!parse.GetValue(follow))
            {
                var text = await logs.ReadAsync(buildId, cancellationToken);
                Console.Out.Write(text);
                if (text.Length > 0 && !text.EndsWith('\n')) Console.Out.WriteLine();
                return Program.Ok;
            }

            var status = await logs.FollowAsync(buildId, line => context.Out.Line(Format.LogLine(line.Stream, line.Text)), cancellationToken);
            context.Out.Note($"build {buildId} {status}");
            return status == "succeeded" ? Program.Ok : Program.Failed;
        }));
        return command;
    }

    private static async Task<int> RuntimeAsync(Context context, ApiClient client, string deploymentId, bool follow, CancellationToken cancellationToken)
    {
        var logs = new BuildLogFollower(client);
        if (follow)
        {
            await logs.FollowRuntimeAsync(deploymentId, line => context.Out.Line(Format.LogLine(line.Stream, line.Text)), cancellationToken);
            return Program.Ok;
        }

        var text = await logs.ReadRuntimeAsync(deploymentId, cancellationToken);
        Console.Out.Write(text);
        if (text.Length > 0 && !text.EndsWith('\n')) Console.Out.WriteLine();
        return Program.Ok;
    }

    /// <summary>
    /// Deployment and build ids look alike (16 hex digits), so the id is tried as a deployment first and used as a
    /// build id when no deployment has it.
    /// </summary>
    public static async Task<string> BuildIdAsync(ApiClient client, string id, CancellationToken cancellationToken)
    {
        try
        {
            var deployment = await client.GetAsync($"api/v1/deployments/{Context.Escape(id)}", cancellationToken);
            return Fields.Text(deployment, "build_id") ?? throw new ApiException(HttpStatusCode.NotFound, $"deployment {id} has no build");
        }
        catch (ApiException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest or HttpStatusCode.MethodNotAllowed)
        {
            return id;
        }
    }
}
