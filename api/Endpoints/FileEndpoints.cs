using System.Globalization;
using System.Text.Json;
using Actors.Runtime;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Artifacts;
using Microsoft.AspNetCore.Http.Features;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// Hash-based uploads (<c>/api/v1/orgs/{slug}/files</c>): a client asks which of its files' hashes are missing, then
/// uploads only those, each as the raw body of <c>PUT files/{sha256}</c>. The store checks hash and size before the
/// file becomes visible, so a wrong upload leaves nothing. Both need 'deploy' in the organization.
/// </summary>
public static class FileEndpoints
{
    /// <summary>A missing-files body lists at most <see cref="ManifestValidation.MaxFiles"/> entries of ~100 bytes each.</summary>
    public const int MaxMissingBodyBytes = 16 * 1024 * 1024;

    public static RouteGroupBuilder MapFileEndpoints(this RouteGroupBuilder api)
    {
        var files = api.MapGroup("/orgs/{slug}/files").RequireAuthorization()
            .AddEndpointFilter(async (context, next) =>
                context.HttpContext.Request.RouteValues["slug"] is string slug && RouteValues.IsSlug(slug)
                    ? await next(context)
                    : JsonBody.FieldProblem("slug", RouteValues.SlugRule));
        files.MapPost("/missing", MissingAsync);
        files.MapPut("/{sha256}", PutAsync);
        files.MapPost("/batch", FileBatchUpload.PostAsync);
        return api;
    }

    private static async Task<IResult> MissingAsync(string slug, HttpContext http, IGrainFactory grains, IArtifactStore store, ArtifactOptions options)
    {
        // Asked first: a caller outside the organization learns nothing, not even which hashes exist.
        await grains.GetGrain<IOrganizationGrain>(slug).Authorize(http.Caller(), OrganizationActions.Deploy);
        var body = await JsonBody.ReadAsync(http.Request, MaxMissingBodyBytes);
        var array = body.Array("files", ManifestValidation.MaxFiles);
        var hashes = new List<string>();
        var manifest = new List<ManifestFile>();
        if (array is { } items)
        {
            var index = 0;
            foreach (var item in items.EnumerateArray())
            {
                var at = $"files[{index++}]";
                if (item.ValueKind != JsonValueKind.Object)
                {
                    body.Fail(at, "must be an object with sha256 and size (and path)");
                    continue;
                }

                var hash = item.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString()! : "";
                if (ManifestValidation.IsSha256(hash)) hashes.Add(hash);
                else body.Fail($"{at}.sha256", ManifestValidation.HashRule);
                long bytes = -1;
                if (!item.TryGetProperty("size", out var size) || !size.TryGetInt64(out bytes) || bytes < 0) body.Fail($"{at}.size", "must be a whole number of bytes, 0 or more");
                else if (bytes > options.MaxFileBytes) body.Fail($"{at}.size", $"must be at most {options.MaxFileBytes} bytes (CloudDeck:Artifacts:MaxFileBytes)");
                // A client may send its whole manifest (with paths): its paths are then checked now, before any upload.
                if (item.TryGetProperty("path", out var path)) manifest.Add(new ManifestFile(path.ValueKind == JsonValueKind.String ? path.GetString()! : "", hash, bytes));
            }

            if (manifest.Count > 0 && manifest.Count != items.GetArrayLength()) body.Fail("files", "must give a path for every file or for none");
            else if (manifest.Count > 0)
            {
                foreach (var (field, problem) in ManifestValidation.Problems(manifest).Where(p => p.Field.EndsWith(".path", StringComparison.Ordinal) || p.Field == "files"))
                {
                    body.Fail(field, problem);
                }
            }
        }

        if (body.Problem() is { } refused) return refused;
        // What this organization holds, never what the store holds: another tenant's uploads stay invisible.
        return Results.Ok(new { missing = store.MissingFor(slug, hashes) });
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
        await store.PutAsync(sha256, length, http.Request.Body, http.RequestAborted);
        await store.GrantAsync(slug, [sha256], http.RequestAborted);
        return existed ? Results.Ok(new { sha256, size = length }) : Results.Created((string?)null, new { sha256, size = length });
    }
}
