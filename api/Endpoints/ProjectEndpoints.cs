using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
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
        }).WithTags("Projects").Refuses(400, 404);
        var signedIn = projects.MapGroup("").SignedIn();
        static IProjectGrain Project(IGrainFactory grains, string slug, string project) => grains.GetGrain<IProjectGrain>(ProjectKeys.Of(slug, project));

        signedIn.MapGet("", (string slug, HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => grains.GetGrain<IProjectIndexGrain>(slug).List(http.Caller()), p => p.Name))
            .Describe("listProjects", "An organization's projects, by name").AnswersPage<ProjectView>();

        signedIn.MapPost("", async (string slug, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var name = body.String("name", 40);
            if (name is not null && !ProjectKeys.IsWellFormedName(name)) body.Fail("name", ProjectKeys.NameRule);
            var settings = ReadSettings(body) with { Name = name };
            if (body.Problem() is { } problem) return problem;
            var created = await Project(grains, slug, name!).Create(http.Caller(), settings);
            return Results.Created($"/api/v1/orgs/{slug}/projects/{name}", created);
        })
            .Describe("createProject", "Create a project from a git repository or for uploads (developers)")
            .Takes<CreateProjectBody>().AnswersCreated<ProjectView>().Refuses(402, 409);

        signedIn.MapGet("/{project}", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
            Results.Ok(await Project(grains, slug, project).Get(http.Caller())))
            .Describe("getProject", "A project: settings, production and preview hosts").Answers<ProjectView>();

        signedIn.MapPatch("/{project}", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var settings = ReadSettings(body) with { Name = body.String("name", 40, required: false) };
            if (body.Problem() is { } problem) return problem;
            return Results.Ok(await Project(grains, slug, project).Update(http.Caller(), settings));
        })
            .Describe("updateProject", "Change a project's settings (developers)").Takes<UpdateProjectBody>().Answers<ProjectView>();

        signedIn.MapDelete("/{project}", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            await Project(grains, slug, project).Delete(http.Caller());
            return Results.NoContent();
        })
            .Describe("deleteProject", "Delete a project and its deployments (developers)").AnswersEmpty();

        signedIn.MapGet("/{project}/env", (string slug, string project, HttpContext http, IGrainFactory grains) =>
            Paging.ListAsync(http.Request, () => Project(grains, slug, project).ListEnv(http.Caller()), v => v.Environment + "/" + v.Name))
            .Describe("listEnvVars", "A project's environment variables, values masked").AnswersPage<EnvVarView>();

        signedIn.MapPut("/{project}/env/{environment}/{name}", async (string slug, string project, string environment, string name, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            // Empty values are values (a flag set to ""), so only absence is refused.
            var value = body.String("value", 64 * 1024, required: false);
            if (value is null && body.IsValid) body.Fail("value", "is required");
            if (body.Problem() is { } problem) return problem;
            return Results.Ok(await Project(grains, slug, project).SetEnv(http.Caller(), environment, name, value!));
        })
            .Describe("setEnvVar", "Set an environment variable for production or preview (developers)")
            .Takes<EnvValueBody>().Answers<EnvVarView>().Refuses(409);

        signedIn.MapDelete("/{project}/env/{environment}/{name}", async (string slug, string project, string environment, string name, HttpContext http, IGrainFactory grains) =>
        {
            await Project(grains, slug, project).RemoveEnv(http.Caller(), environment, name);
            return Results.NoContent();
        })
            .Describe("removeEnvVar", "Remove an environment variable (developers)").AnswersEmpty();

        signedIn.MapGet("/{project}/deployments", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            if (!Paging.TryReadSequence(http.Request, out var limit, out var before, out var problem)) return problem!;
            var page = await Project(grains, slug, project).ListDeployments(http.Caller(), before, limit);
            return Results.Ok(Paging.Sequenced(page.Deployments, page.NextBefore));
        })
            .Describe("listDeployments", "A project's deployments, newest first").AnswersPage<DeploymentView>();

        signedIn.MapPost("/{project}/deployments", async (string slug, string project, HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request, MaxManifestBytes);
            var (target, source) = DeploymentEndpoints.ReadSource(body);
            if (body.Problem() is { } problem) return problem;
            var created = await Project(grains, slug, project).Deploy(http.Caller(), source!, target!);
            return Results.Created($"/api/v1/deployments/{created.Id}", created);
        })
            .Describe("createDeployment", "Deploy a git ref or uploaded files (developers)",
            "Upload first: POST /orgs/{slug}/files/missing names the hashes to send, PUT /orgs/{slug}/files/{sha256} or POST /orgs/{slug}/files/batch sends them.")
            .Takes<CreateDeploymentBody>().AnswersCreated<DeploymentView>().Refuses(402, 409, 429);

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

            return Results.Ok(await Project(grains, slug, project).Rollback(http.Caller(), deploymentId));
        })
            .Describe("rollback", "Point production back at an earlier ready deployment (developers)", "Without a body, the previous production deployment. One alias write: no rebuild.")
            .Takes<RollbackBody>(optional: true).Answers<DeploymentView>().Refuses(409);

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
                return Results.Ok(new DuplicateDeliveryAnswer(true, deliveryId, earlier.DeliveryId, earlier.DeploymentId,
                    "This delivery was received before; its deployment stands and nothing new was deployed."));
            }

            return receipt.Deployment is { } deployment ? Results.Accepted($"/api/v1/deployments/{deployment.Id}", deployment) : Results.NoContent();
        }).AllowAnonymous()
            .Describe("receiveGitPush", "A git host's push webhook (GitHub, Gitea, Gogs)",
            "No session: the X-Hub-Signature-256 HMAC of the body with the project's webhook secret is the credential. A push to a deployable branch answers 202 with the deployment; a delivery seen before 200; any other push 204.")
            .TakesRaw("application/json")
            .TakesHeader(SignatureHeader, "sha256=<hex HMAC-SHA256 of the body with the project's webhook secret>", required: true)
            .TakesHeader(DeliveryHeader, "The delivery's id: a delivery seen before deploys nothing new")
            .Answers<DuplicateDeliveryAnswer>().Answers<DeploymentView>(202).AnswersEmpty().Refuses(401, 409);

        return api;
    }

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
