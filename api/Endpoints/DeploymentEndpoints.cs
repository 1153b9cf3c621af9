using System.Globalization;
using System.Text.Json;
using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.Logs;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Servers;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>/api/v1/deployments/{id}</c>: one deployment, by the id in its URL. Creating and listing live under the project
/// (<see cref="ProjectEndpoints"/>); the deployment grain decides who may see, cancel, promote or delete it.
/// </summary>
public static class DeploymentEndpoints
{
    public const int MaxFiles = 100_000;

    /// <summary>The most lines <c>?tail=</c> of a runtime log may ask for.</summary>
    public const int MaxRuntimeLogTail = 10_000;

    private static readonly string[] FileFields = ["path", "sha256", "size"];

    public static RouteGroupBuilder MapDeploymentEndpoints(this RouteGroupBuilder api)
    {
        var deployments = api.MapGroup("/deployments/{id}").SignedIn().WithTags("Deployments").Refuses(400, 404).AddEndpointFilter(async (context, next) =>
            context.HttpContext.Request.RouteValues["id"] is string id && DeploymentIds.IsWellFormed(id)
                ? await next(context)
                : JsonBody.FieldProblem("id", DeploymentIds.Rule));
        static IDeploymentGrain Deployment(IGrainFactory grains, string id) => grains.GetGrain<IDeploymentGrain>(id);

        deployments.MapGet("", async (string id, HttpContext http, IGrainFactory grains) =>
            Results.Ok(await Deployment(grains, id).Get(http.Caller())))
            .Describe("getDeployment", "A deployment: status, URL, build").Answers<DeploymentView>();

        deployments.MapPost("/cancel", async (string id, HttpContext http, IGrainFactory grains) =>
            Results.Ok(await Deployment(grains, id).Cancel(http.Caller())))
            .Describe("cancelDeployment", "Cancel a deployment that is still building (developers)").Answers<DeploymentView>().Refuses(409);

        deployments.MapPost("/promote", async (string id, HttpContext http, IGrainFactory grains) =>
            Results.Ok(await Deployment(grains, id).Promote(http.Caller())))
            .Describe("promoteDeployment", "Make a ready deployment production (developers): one alias write").Answers<DeploymentView>().Refuses(409);

        // A server deployment's process: state, pid, port, restarts, last exit code, last cold start (stopped for a static one).
        deployments.MapGet("/server", async (string id, HttpContext http, IGrainFactory grains) =>
            Results.Ok(await grains.GetGrain<IServerGrain>(id).GetStatus(http.Caller())))
            .Describe("getDeploymentServer", "A server deployment's process: state, restarts, last exit").Answers<ServerStatusView>();

        // Its server's stdout/stderr as stored (secrets already masked), one line per line; the deployment decides who may read.
        // With ?follow=true (or Accept: text/event-stream) Server-Sent Events as for a build's log, from Last-Event-ID on,
        // then live lines until the client goes: a runtime log never completes.
        deployments.MapGet("/logs/runtime", async (string id, string? follow, string? tail, HttpContext http, IGrainFactory grains, ILogStreamProvider streams,
            LogAccess access, BuildLogOptions options, ILoggerFactory loggers) =>
        {
            var following = BuildEndpoints.Following(follow, http.Request.Headers.Accept.ToString());
            var lastEventId = BuildEndpoints.LastEventId(http.Request.Headers[BuildEndpoints.LastEventIdHeader].ToString());
            // ?tail=N: only the last N lines (a server's log grows for as long as it runs; a page shows its end).
            int? tailLines = null;
            if (tail is not null)
            {
                if (!int.TryParse(tail, NumberStyles.None, CultureInfo.InvariantCulture, out var lines) || lines is < 1 or > MaxRuntimeLogTail)
                {
                    return JsonBody.FieldProblem("tail", $"must be a whole number from 1 to {MaxRuntimeLogTail}");
                }

                tailLines = lines;
            }

            // A runtime log never completes: a follow starts only for a live login or API token, and ends when access does.
            if (following) await access.EnsureSignedInAsync(http.User);
            await Deployment(grains, id).Get(http.Caller());
            var log = streams.GetStream<BuildLogLine>(RuntimeLogs.Namespace, id);
            var info = await log.GetInfoAsync();
            if (!following)
            {
                var shown = tailLines is { } count ? info with { FirstRetained = Math.Max(info.FirstRetained, info.Last - count + 1) } : info;
                return (IResult)new BuildLogText(log, shown, info.Last, options.ReadPageSize);
            }

            var from = OpenedBuildLog.StartAt(lastEventId + 1, info.Last, BuildEndpoints.LastEventIdHeader);
            var followed = new FollowedLog(id, log,
                item => RuntimeLogLineMessage.From(id, item),
                message => new RuntimeLogErrorMessage(id, message),
                Completed: null);
            var (user, caller) = (http.User, http.Caller());
            return new BuildLogEventStream(followed, from,
                stop => access.WaitUntilEndedAsync(user, caller, reader => Deployment(grains, id).Get(reader), id, stop),
                options, loggers.CreateLogger(typeof(BuildLogEventStream)));
        })
            .Describe("getRuntimeLog", "A server deployment's stdout and stderr: text (?tail=N: its last N lines), or followed live as Server-Sent Events").AnswersLog();

        deployments.MapDelete("", async (string id, HttpContext http, IGrainFactory grains) =>
        {
            await Deployment(grains, id).Delete(http.Caller());
            return Results.NoContent();
        })
            .Describe("deleteDeployment", "Delete a deployment that serves nothing (developers)").AnswersEmpty().Refuses(409);

        return api;
    }

    /// <summary>
    /// <c>{"target", "git_ref"?}</c> or <c>{"target", "files": [{"path","sha256","size"}], "branch"?}</c>. Shapes only; the
    /// grain checks paths, hashes and that every file is stored, naming <c>files[i].path</c> and so on.
    /// </summary>
    public static (string? Target, DeploymentSource? Source) ReadSource(JsonBody body)
    {
        var target = body.String("target", 16);
        if (target is not null && !DeploymentTargets.IsValid(target)) body.Fail("target", "must be production or preview");
        var gitRef = body.String("git_ref", 255, required: false);
        var branch = body.String("branch", 255, required: false);
        List<ManifestFile>? files = null;
        if (body.Has("files"))
        {
            if (gitRef is not null) body.Fail("files", "give git_ref or files, not both");
            if (body.Array("files", MaxFiles) is { } items) files = ReadFiles(items, body);
        }

        return (target, new DeploymentSource(gitRef, files, branch));
    }

    private static List<ManifestFile> ReadFiles(JsonElement items, JsonBody body)
    {
        var files = new List<ManifestFile>(items.GetArrayLength());
        var index = 0;
        foreach (var item in items.EnumerateArray())
        {
            var at = $"files[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                body.Fail(at, "must be an object {\"path\", \"sha256\", \"size\"}");
                continue;
            }

            body.RefuseUnknownMembers(item, at, FileFields);

            var path = item.TryGetProperty("path", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            var sha256 = item.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString() : null;
            long? size = item.TryGetProperty("size", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var n) ? n : null;
            if (path is null) body.Fail($"{at}.path", "is required (a string)");
            if (sha256 is null) body.Fail($"{at}.sha256", "is required (64 lower-case hex digits)");
            if (size is null) body.Fail($"{at}.size", "is required (a whole number of bytes)");
            if (path is not null && sha256 is not null && size is { } bytes) files.Add(new ManifestFile(path, sha256, bytes));
        }

        return files;
    }
}
