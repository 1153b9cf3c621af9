using System.Text.Json;
using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>/api/v1/orgs/{slug}/projects</c>: projects, their environment variables, their deployments, rollback and the git
/// push webhook. Bodies are read field by field here (a 400 names the field); the grains decide everything else.
/// </summary>
public static class ProjectEndpoints
{
    /// <summary>GitHub sends push payloads of up to 25 MB; a push with thousands of commits fits well under this.</summary>
    public const int MaxWebhookBytes = 5 * 1024 * 1024;

    public const int MaxManifestBytes = 16 * 1024 * 1024;

    public const string SignatureHeader = "X-Hub-Signature-256";

    /// <summary>The delivery's id: GitHub's header, which Gitea and Gogs send too.</summary>
    public const string DeliveryHeader = "X-GitHub-Delivery";

    /// <summary>snake_case, as the license and usage routes answer.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static readonly string[] SettingFields =
        ["git_url", "local_path", "production_branch", "root_directory", "framework", "install_command", "build_command", "output_directory",
         "start_command", "health_check_path"];

    public static RouteGroupBuilder MapProjectEndpoints(this RouteGroupBuilder api)
    {
        var projects = api.MapGroup("/orgs/{slug}/projects").AddEndpointFilter(async (context, next) =>
        {
            var values = context.HttpContext.Request.RouteValues;
            if (values["slug"] is not string slug || !RouteValues.IsSlug(slug)) return JsonBody.FieldProblem("slug", RouteValues.SlugRule);
            if (values.TryGetValue("project", out var project) && !ProjectKeys.IsWellFormedName(project as string))
            {
                return JsonBody.FieldProblem("project", ProjectKeys.NameRule);
            }

            return await next(context);
        });
        var signedIn = projects.MapGroup("").RequireAuthorization();
        static IProjectGrain Project(IGrainFactory grains, string slug, string project) => grains.GetGrain<IProjectGrain>(ProjectKeys.Of(slug, project));

        signedIn.MapGet("", (string slug, HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => grains.GetGrain<IProjectIndexGrain>(slug).List(http.Caller()), p => p.Name, Json));

        signedIn.MapPost("", async (string slug, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var name = body.String("name", 40);
            if (name is not null && !ProjectKeys.IsWellFormedName(name)) body.Fail("name", ProjectKeys.NameRule);
            var settings = ReadSettings(body) with { Name = name };
            if (body.Problem() is { } problem) return problem;
            var created = await Project(grains, slug, name!).Create(http.Caller(), settings);
            http.Response.Headers.Location = $"/api/v1/orgs/{slug}/projects/{name}";
            return Results.Json(created, Json, statusCode: StatusCodes.Status201Created);
        });

        signedIn.MapGet("/{project}", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
            Results.Json(await Project(grains, slug, project).Get(http.Caller()), Json));

        signedIn.MapPatch("/{project}", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var settings = ReadSettings(body) with { Name = body.String("name", 40, required: false) };
            if (body.Problem() is { } problem) return problem;
            return Results.Json(await Project(grains, slug, project).Update(http.Caller(), settings), Json);
        });

        signedIn.MapDelete("/{project}", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            await Project(grains, slug, project).Delete(http.Caller());
            return Results.NoContent();
        });

        signedIn.MapGet("/{project}/env", (string slug, string project, HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => Project(grains, slug, project).ListEnv(http.Caller()), v => v.Environment + "/" + v.Name, Json));

        signedIn.MapPut("/{project}/env/{environment}/{name}", async (string slug, string project, string environment, string name, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            // Empty values are values (a flag set to ""), so only absence is refused.
            var value = body.String("value", 64 * 1024, required: false);
            if (value is null && body.IsValid) body.Fail("value", "is required");
            if (body.Problem() is { } problem) return problem;
            return Results.Json(await Project(grains, slug, project).SetEnv(http.Caller(), environment, name, value!), Json);
        });

        signedIn.MapDelete("/{project}/env/{environment}/{name}", async (string slug, string project, string environment, string name, HttpContext http, IGrainFactory grains) =>
        {
            await Project(grains, slug, project).RemoveEnv(http.Caller(), environment, name);
            return Results.NoContent();
        });

        signedIn.MapGet("/{project}/deployments", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            if (!Paging.TryReadSequence(http.Request, out var limit, out var before, out var problem)) return problem!;
            var page = await Project(grains, slug, project).ListDeployments(http.Caller(), before, limit);
            return Results.Json(Paging.Sequenced(page.Deployments, page.NextBefore), Json);
        });

        signedIn.MapPost("/{project}/deployments", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request, MaxManifestBytes);
            var (target, source) = DeploymentEndpoints.ReadSource(body);
            if (body.Problem() is { } problem) return problem;
            var created = await Project(grains, slug, project).Deploy(http.Caller(), source!, target!);
            http.Response.Headers.Location = $"/api/v1/deployments/{created.Id}";
            return Results.Json(created, Json, statusCode: StatusCodes.Status201Created);
        });

        signedIn.MapPost("/{project}/rollback", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            string? deploymentId = null;
            // The body is optional: no body (or {}) rolls back to the previous production deployment.
            if (http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0)
            {
                var body = await JsonBody.ReadAsync(http.Request);
                deploymentId = body.String("deployment_id", 16, required: false);
                if (deploymentId is not null && !DeploymentIds.IsWellFormed(deploymentId)) body.Fail("deployment_id", DeploymentIds.Rule);
                if (body.Problem() is { } problem) return problem;
            }

            return Results.Json(await Project(grains, slug, project).Rollback(http.Caller(), deploymentId), Json);
        });

        // Git hosts call this with no session: the signature over the body, made with the project's secret, is the credential.
        projects.MapPost("/{project}/hooks/git", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            var payload = await ReadRawAsync(http.Request, MaxWebhookBytes);
            if (payload is null) return JsonBody.FieldProblem("body", $"must be at most {MaxWebhookBytes} bytes");
            var signature = http.Request.Headers[SignatureHeader].ToString();
            var deliveryId = http.Request.Headers[DeliveryHeader].ToString() is { Length: > 0 } value ? value : null;
            if (deliveryId is not null && !GitDeliveries.IsWellFormedDeliveryId(deliveryId))
            {
                return JsonBody.FieldProblem(DeliveryHeader, $"must be 1–{GitDeliveries.MaxDeliveryIdLength} letters, digits, '-', '_' or '.' (a delivery GUID)");
            }

            var receipt = await Project(grains, slug, project).ReceivePush(payload, signature.Length == 0 ? null : signature, deliveryId);
            if (receipt.DuplicateOf is { } earlier)
            {
                // A success, so the sender does not retry it; nothing new was deployed.
                return Results.Json(new DuplicateDelivery(true, deliveryId, earlier.DeliveryId, earlier.DeploymentId,
                    "This delivery was received before; its deployment stands and nothing new was deployed."), Json);
            }

            return receipt.Deployment is { } deployment ? Results.Json(deployment, Json, statusCode: StatusCodes.Status202Accepted) : Results.NoContent();
        }).AllowAnonymous();

        return api;
    }

    /// <summary>The answer to a delivery received before (200).</summary>
    private sealed record DuplicateDelivery(bool Duplicate, string? DeliveryId, string? EarlierDeliveryId, string DeploymentId, string Detail);

    /// <summary>Every setting field that is present; "" clears an optional one (the grain validates the values).</summary>
    private static ProjectSettings ReadSettings(JsonBody body)
    {
        var values = SettingFields.ToDictionary(f => f, f => body.String(f, 4096, required: false), StringComparer.Ordinal);
        return new ProjectSettings(
            GitUrl: values["git_url"], LocalPath: values["local_path"], ProductionBranch: values["production_branch"],
            RootDirectory: values["root_directory"], Framework: values["framework"], InstallCommand: values["install_command"],
            BuildCommand: values["build_command"], OutputDirectory: values["output_directory"],
            StartCommand: values["start_command"], HealthCheckPath: values["health_check_path"]);
    }

    private static async Task<byte[]?> ReadRawAsync(HttpRequest request, int limit)
    {
        if (request.ContentLength > limit) return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
