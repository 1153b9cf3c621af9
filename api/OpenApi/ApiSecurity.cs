using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace CloudDeck.Api.OpenApi;

/// <summary>
/// The two credentials the API takes, as OpenAPI security schemes, and on each operation the ones it accepts: both
/// for a route that requires sign-in, the session alone where <see cref="SessionOnlyMetadata"/> says so, none for an
/// anonymous route (license keys and webhook signatures travel in the body and headers the operation describes).
/// </summary>
public sealed class ApiSecurity : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    /// <summary>An access token (JWT) from <c>POST /api/v1/auth/login</c>, renewed with <c>POST /api/v1/auth/refresh</c>.</summary>
    public const string Session = "session";

    /// <summary>An API token (<c>cdk_…</c>) from <c>POST /api/v1/me/tokens</c>, limited to its scopes.</summary>
    public const string ApiToken = "api_token";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Session] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A session's access token from POST /api/v1/auth/login (or /login/mfa), renewed with POST /api/v1/auth/refresh: "
                          + "`Authorization: Bearer <access_token>`. Everything the user's roles allow.",
        };
        document.Components.SecuritySchemes[ApiToken] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "cdk_<owner>.<id>.<secret>",
            Description = "An API token from POST /api/v1/me/tokens: `Authorization: Bearer cdk_…`. Limited to its scopes "
                          + "(read ⊂ deploy ⊂ admin), and refused (403) while the account's email is unverified.",
        };
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var signedIn = metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any();
        if (!signedIn) return Task.CompletedTask;
        var document = context.Document;
        IEnumerable<string> schemes = metadata.OfType<SessionOnlyMetadata>().Any() ? [Session] : [Session, ApiToken];
        operation.Security = [.. schemes.Select(scheme => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, document)] = [] })];
        return Task.CompletedTask;
    }
}
