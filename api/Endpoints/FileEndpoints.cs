using System.Globalization;
using System.Text.Json;
using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Artifacts;
using Microsoft.AspNetCore.Http.Features;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// Hash-based uploads (<c>/api/v1/orgs/{slug}/files</c>): a client asks which of its files' hashes are missing, then
/// uploads only those, each as the raw body of <c>PUT files/{sha256}</c>. The store checks hash and size before the
/// file becomes visible, so a wrong upload leaves nothing. Both need 'deploy' in the organization; an upload is counted
/// against the organization's storage (<see cref="IOrganizationStorageGrain"/>) before its body is read.
/// </summary>
public static class FileEndpoints
{
    public static RouteGroupBuilder MapFileEndpoints(this RouteGroupBuilder api)
    {
        var files = api.MapGroup("/orgs/{slug}/files").SignedIn().WithTags("Files").Refuses(400, 404)
            .AddEndpointFilter(async (context, next) =>
                context.HttpContext.Request.RouteValues["slug"] is string slug && RouteValues.IsSlug(slug)
                    ? await next(context)
                    : JsonBody.FieldProblem("slug", RouteValues.SlugRule));
        files.MapPost("/missing", MissingAsync)
            .Describe("findMissingFiles", "Which of these files' hashes the organization lacks (developers)")
            .Takes<MissingFilesBody>().Answers<MissingFilesAnswer>();
        files.MapPut("/{sha256}", PutAsync)
            .Describe("uploadFile", "Store one file, its bytes as the body; checked against the hash (developers)",
                "201 when the organization did not hold it yet, 200 when it did. Counted against the plan's storage before a byte is read.")
            .TakesRaw("application/octet-stream").Answers<StoredFileAnswer>().AnswersCreated<StoredFileAnswer>().Refuses(402, 409, 411, 413, 429);
        files.MapPost("/batch", FileBatchUpload.PostAsync)
            .Describe("uploadFiles", "Store many files in one body: per file a line \"<sha256> <size>\\n\" then its bytes (developers)",
                "One refused file refuses the batch (400 naming files[i]) and stores none of it.")
            .TakesRaw("application/octet-stream").Answers<StoredBatchAnswer>().Refuses(402, 409, 411, 413, 429);
        return api;
    }

    private static async Task<IResult> MissingAsync(string slug, HttpContext http, IGrainFactory grains, IArtifactStore store, ArtifactOptions options)
    {
        // Asked first: a caller outside the organization learns nothing, not even which hashes exist.
        await grains.GetGrain<IOrganizationGrain>(slug).Authorize(http.Caller(), OrganizationActions.Deploy);
        // Each hash is checked as its entry is read; what this organization holds, never what the store holds, so
        // another tenant's uploads stay invisible.
        var (missing, errors) = await MissingFilesReader.ReadAsync(http.Request, hash => store.MissingFor(slug, [hash]).Count > 0, options.MaxFileBytes);
        return errors is not null ? JsonBody.ValidationProblem(errors) : Results.Ok(new MissingFilesAnswer(missing!));
    }

    /// <param name="size">Optional: the size the client expects, checked against the body's length.</param>
    private static async Task<IResult> PutAsync(string slug, string sha256, long? size, HttpContext http, IGrainFactory grains, IArtifactStore store, ArtifactOptions options)
    {
        await grains.GetGrain<IOrganizationGrain>(slug).Authorize(http.Caller(), OrganizationActions.Deploy);
        if (!ManifestValidation.IsSha256(sha256)) return JsonBody.FieldProblem("sha256", ManifestValidation.HashRule);
        if (http.Request.ContentLength is not { } length)
        {
            return Results.Problem(statusCode: StatusCodes.Status411LengthRequired, title: "Content-Length required",
                detail: "Send the file as the raw body with a Content-Length header (chunked uploads are not accepted).");
        }

        if (length > options.MaxFileBytes)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "File too large",
                detail: string.Create(CultureInfo.InvariantCulture, $"Files may be at most {options.MaxFileBytes} bytes (CloudDeck:Artifacts:MaxFileBytes); this one has {length}."));
        }

        if (size is { } expected && expected != length)
        {
            return JsonBody.FieldProblem("size", string.Create(CultureInfo.InvariantCulture, $"is {expected}, but the body has {length} bytes"));
        }

        // Kestrel's default body limit (30 MB) is below the store's.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = options.MaxFileBytes;
        // "Created" is about this organization: whether another one stored the bytes is not told.
        var existed = store.MissingFor(slug, [sha256]).Count == 0;
        // Counted (and granted) before a byte is read: past the plan's storage or an unverified account's allowance the
        // upload is refused with nothing read, written or counted.
        var caller = http.Caller();
        var storage = grains.GetGrain<IOrganizationStorageGrain>(slug);
        var hold = await storage.Hold(caller, [new StoredContent(sha256, length)]);
        try
        {
            await store.PutAsync(sha256, length, http.Request.Body, http.RequestAborted);
        }
        catch
        {
            await storage.Forget(caller, hold);
            throw;
        }

        return existed ? Results.Ok(new StoredFileAnswer(sha256, length)) : Results.Created($"/api/v1/orgs/{slug}/files/{sha256}", new StoredFileAnswer(sha256, length));
    }
}
