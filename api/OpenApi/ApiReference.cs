using Scalar.AspNetCore;

namespace CloudDeck.Api.OpenApi;

/// <summary>
/// The API's description at <see cref="DocumentPath"/> (checked in as openapi.json at the repository's root, see
/// docs/api.md) and its reference page at <see cref="ReferencePath"/>. Both are API-host routes: on a deployment's
/// host the edge answers first, so a site's own <c>/docs</c> stays the site's.
/// </summary>
public static class ApiReference
{
    public const string DocumentName = "v1";
    public const string DocumentPath = "/openapi/v1.json";
    public const string ReferencePath = "/docs";

    public static IServiceCollection AddCloudDeckOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "CloudDeck API";
                document.Info.Version = DocumentName;
                document.Info.Description = "Accounts, organizations, projects, deployments, builds, licenses and usage of a CloudDeck "
                                            + "platform. Errors are ProblemDetails (RFC 9457); see docs/api.md.";
                // The document describes routes, not where this process happens to listen.
                document.Servers = [];
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer((schema, context, _) =>
            {
                // ProblemDetails keep their extension members (trace_id, and what a route adds), whatever the
                // contract says of request bodies (unknown members refused): a client must not reject them.
                if (context.JsonTypeInfo.Type.IsAssignableTo(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))) schema.AdditionalPropertiesAllowed = true;
                return Task.CompletedTask;
            });
            var security = new ApiSecurity();
            options.AddDocumentTransformer(security);
            options.AddOperationTransformer(security);
            options.AddDocumentTransformer((document, _, _) =>
            {
                // Responses in status order, whatever order the group's and the route's metadata came in.
                foreach (var operation in document.Paths.Values.SelectMany(path => path.Operations?.Values.AsEnumerable() ?? []))
                {
                    if (operation.Responses is not { } responses) continue;
                    var ordered = responses.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
                    responses.Clear();
                    foreach (var (status, response) in ordered) responses[status] = response;
                }

                return Task.CompletedTask;
            });
        });

    public static IEndpointRouteBuilder MapCloudDeckApiReference(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference(ReferencePath, options => options
                .WithTitle("CloudDeck API")
                .WithOpenApiRoutePattern("/openapi/{documentName}.json")
                .AddPreferredSecuritySchemes(ApiSecurity.Session)
                // Self-hosted: the page loads and sends nothing to a third party (Scalar's fonts come from its CDN; its
                // telemetry, AI agent, MCP and developer toolbar call its cloud).
                .DisableDefaultFonts()
                .DisableTelemetry()
                .DisableAgent()
                .DisableMcp()
                .HideDeveloperTools())
            .AllowAnonymous();
        return app;
    }
}
