using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;

namespace CloudDeck.Api.OpenApi;

/// <summary>
/// The OpenAPI description of a route, said once beside the route: its operation id and summary, the JSON body it
/// reads, what it answers, and which ProblemDetails it can refuse with. Handlers read their bodies field by field
/// (<see cref="Http.JsonBody"/>), so the body's schema comes from a record that names the same fields.
/// </summary>
public static class EndpointDocs
{
    public const string Json = "application/json";

    public const string Problem = "application/problem+json";

    /// <summary>The operation id (also the endpoint's name) and a one-line summary.</summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder route, string operationId, string summary, string? description = null)
    {
        route.WithName(operationId).WithSummary(summary);
        return description is null ? route : route.WithDescription(description);
    }

    /// <summary>The JSON body the route reads; <paramref name="optional"/> when it may be left out.</summary>
    public static RouteHandlerBuilder Takes<TBody>(this RouteHandlerBuilder route, bool optional = false) where TBody : notnull =>
        route.WithMetadata(new BodyDescription(typeof(TBody), optional));

    /// <summary>A raw body of <paramref name="contentType"/> (file bytes, a webhook's payload as its sender signed it).</summary>
    public static RouteHandlerBuilder TakesRaw(this RouteHandlerBuilder route, string contentType) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    // A webhook's JSON is read as bytes (its signature covers them), but it is an object all the same.
                    [contentType] = new()
                    {
                        Schema = contentType == Json ? new OpenApiSchema { Type = JsonSchemaType.Object } : new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" },
                    },
                },
            };
            return Task.CompletedTask;
        });

    /// <summary>
    /// The body's type for the document only. Accepts() would also make routing refuse (415) any request whose
    /// Content-Type it does not list; with no content types listed, routing ignores this, the handlers keep deciding
    /// (a 400 naming the body), and the document shows the schema as application/json.
    /// </summary>
    private sealed class BodyDescription(Type type, bool optional) : IAcceptsMetadata
    {
        public IReadOnlyList<string> ContentTypes => [];

        public Type RequestType => type;

        public bool IsOptional => optional;
    }

    public static RouteHandlerBuilder Answers<T>(this RouteHandlerBuilder route, int status = StatusCodes.Status200OK) =>
        route.Produces<T>(status, Json);

    /// <summary>
    /// A page of a list (<see cref="Http.Paging"/>): the <c>limit</c> and <c>cursor</c> query parameters, the
    /// <c>{items, next_cursor}</c> answer, and the 400 that names a wrong parameter.
    /// </summary>
    public static RouteHandlerBuilder AnswersPage<T>(this RouteHandlerBuilder route) =>
        route.Answers<Http.Paging.Page<T>>()
            .TakesQuery("limit", $"How many items (1–{Http.Paging.MaxLimit}, default {Http.Paging.DefaultLimit}).", JsonSchemaType.Integer)
            .TakesQuery("cursor", "The previous page's next_cursor, as given; absent for the first page.")
            .Refuses(StatusCodes.Status400BadRequest);

    /// <summary>A query parameter the handler reads itself.</summary>
    public static RouteHandlerBuilder TakesQuery(this RouteHandlerBuilder route, string name, string description,
        JsonSchemaType type = JsonSchemaType.String, bool required = false) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name, In = ParameterLocation.Query, Required = required, Description = description,
                Schema = new OpenApiSchema { Type = type },
            });
            return Task.CompletedTask;
        });

    /// <summary>A 201 with the created resource and the <c>Location</c> header that names its URL.</summary>
    public static RouteHandlerBuilder AnswersCreated<T>(this RouteHandlerBuilder route) =>
        route.Answers<T>(StatusCodes.Status201Created).AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.TryGetValue("201", out var created) is true && created is OpenApiResponse response)
            {
                response.Headers ??= new Dictionary<string, IOpenApiHeader>();
                response.Headers["Location"] = new OpenApiHeader
                {
                    Description = "The created resource's URL.", Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uri-reference" },
                };
            }

            return Task.CompletedTask;
        });

    /// <summary>A 200 whose body is one of two shapes (a login answers tokens, or a challenge when a second factor is needed).</summary>
    public static RouteHandlerBuilder AnswersOneOf<TFirst, TSecond>(this RouteHandlerBuilder route) =>
        route.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            IOpenApiSchema[] shapes =
            [
                await context.GetOrCreateSchemaAsync(typeof(TFirst), null, cancellationToken),
                await context.GetOrCreateSchemaAsync(typeof(TSecond), null, cancellationToken),
            ];
            operation.Responses ??= [];
            operation.Responses[StatusCodes.Status200OK.ToString(CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = "OK",
                Content = new Dictionary<string, OpenApiMediaType> { [Json] = new() { Schema = new OpenApiSchema { OneOf = [.. shapes] } } },
            };
        });

    /// <summary>A request header the handler reads (a webhook's signature, say).</summary>
    public static RouteHandlerBuilder TakesHeader(this RouteHandlerBuilder route, string name, string description, bool required = false) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name, In = ParameterLocation.Header, Required = required, Description = description,
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            });
            return Task.CompletedTask;
        });

    /// <summary>A success with no body (204, or a 202 that only acknowledges).</summary>
    public static RouteHandlerBuilder AnswersEmpty(this RouteHandlerBuilder route, int status = StatusCodes.Status204NoContent) =>
        route.Produces(status);

    /// <summary>
    /// A 302 with a Location: the success of a route a browser navigates rather than a client calls (a sign-in with an
    /// identity provider goes from CloudDeck to the provider and back).
    /// </summary>
    public static RouteHandlerBuilder AnswersRedirect(this RouteHandlerBuilder route, string whereTo) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Responses ??= [];
            operation.Responses[StatusCodes.Status302Found.ToString(CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = "Found: " + whereTo,
                Headers = new Dictionary<string, IOpenApiHeader>
                {
                    ["Location"] = new OpenApiHeader { Description = whereTo, Required = true, Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uri" } },
                },
            };
            return Task.CompletedTask;
        });

    /// <summary>Text (a log), or with <c>?follow=true</c> or <c>Accept: text/event-stream</c> Server-Sent Events.</summary>
    public static RouteHandlerBuilder AnswersLog(this RouteHandlerBuilder route) =>
        route.Produces<string>(StatusCodes.Status200OK, "text/plain", "text/event-stream");

    /// <summary>
    /// The refusals the route can answer, each as ProblemDetails (RFC 9457): 400 as a <see cref="ValidationProblem"/>
    /// whose <c>errors</c> name the fields, 402 and 429 as a <see cref="QuotaProblem"/> with the refused limit.
    /// </summary>
    public static TBuilder Refuses<TBuilder>(this TBuilder builder, params ReadOnlySpan<int> statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            var shape = status switch
            {
                StatusCodes.Status400BadRequest => typeof(ValidationProblem),
                StatusCodes.Status402PaymentRequired or StatusCodes.Status429TooManyRequests => typeof(QuotaProblem),
                _ => typeof(ProblemDetails),
            };
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, shape, [Problem]));
        }

        return builder;
    }

    /// <summary>Refusals whose ProblemDetails carry the fields of <typeparamref name="TProblem"/>.</summary>
    public static RouteHandlerBuilder RefusesWith<TProblem>(this RouteHandlerBuilder route, params ReadOnlySpan<int> statuses) where TProblem : ProblemDetails
    {
        foreach (var status in statuses) route.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(TProblem), [Problem]));
        return route;
    }

    /// <summary>
    /// A signed-in caller only (a session or an API token, <see cref="ApiSecurity"/>): 401 without a credential, 403
    /// for an API token of an unverified account or a role or scope that does not allow the action.
    /// </summary>
    public static RouteGroupBuilder SignedIn(this RouteGroupBuilder group) =>
        group.RequireAuthorization().Refuses(StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden);

    /// <summary>A signed-in session only: the grain refuses API tokens here (403), so the document offers only the session scheme.</summary>
    public static RouteHandlerBuilder SessionOnly(this RouteHandlerBuilder route) => route.WithMetadata(SessionOnlyMetadata.Instance);
}

/// <summary>Marks a route that API tokens cannot use (passwords and MFA); read by <see cref="ApiSecurity"/>.</summary>
public sealed class SessionOnlyMetadata
{
    public static readonly SessionOnlyMetadata Instance = new();

    private SessionOnlyMetadata()
    {
    }
}
