using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>POST /_diag/builds</c> (test hosts only, see <see cref="DiagnosticEndpointsFilter"/>): starts a synthetic build whose log a
/// test grain writes at a given pace, so live logs can be tried (and measured) before the build pipeline exists.
/// Body: <c>{"org": "acme", "project"?: "synthetic", "lines"?: 100, "lines_per_second"?: 0, "line_bytes"?: 100,
/// "status"?: "succeeded"}</c>. The caller must be allowed to deploy in the organization (developer or above).
/// </summary>
public static class DiagnosticBuildEndpoints
{
    public sealed record SyntheticBuildStarted(string Id, BuildView Build, string Logs);

    public static IEndpointRouteBuilder MapDiagnosticBuildEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/_diag/builds", async (HttpContext http, IGrainFactory grains) =>
        {
            var body = await JsonBody.ReadAsync(http.Request);
            var defaults = new SyntheticBuildRequest("");
            var org = body.String("org", 40);
            var project = body.String("project", 100, required: false) ?? defaults.Project;
            var lines = body.OptionalInt("lines", defaults.Lines);
            var linesPerSecond = body.OptionalInt("lines_per_second", defaults.LinesPerSecond);
            var lineBytes = body.OptionalInt("line_bytes", defaults.LineBytes);
            var status = body.String("status", 16, required: false) ?? defaults.Status;
            if (org is not null && !RouteValues.IsSlug(org)) return JsonBody.FieldProblem("org", $"the organization's slug {RouteValues.SlugRule}");
            if (body.Problem() is { } invalid) return invalid;

            var request = new SyntheticBuildRequest(org!, project, lines!.Value, linesPerSecond!.Value, lineBytes!.Value, status);
            if (request.Problem() is var (field, problem)) return JsonBody.FieldProblem(field, problem);
            var id = BuildIds.New();
            var build = await grains.GetGrain<ISyntheticBuildGrain>(id).Start(http.Caller(), request);
            return Results.Created($"/api/v1/builds/{id}", new SyntheticBuildStarted(id, build, $"/api/v1/builds/{id}/logs"));
        })
        .RequireAuthorization()
        .AddEndpointFilter<DomainErrorFilter>()
        .ExcludeFromDescription();
        return app;
    }
}
