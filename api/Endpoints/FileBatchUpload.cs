using System.Globalization;
using System.Text;
using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Artifacts;
using Microsoft.AspNetCore.Http.Features;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// <c>POST /api/v1/orgs/{slug}/files/batch</c>: many missing files in one request, so a first deploy of a thousand small
/// files costs a few round trips and one sync per batch instead of a thousand of each. The body is, per file, a line
/// <c>&lt;sha256&gt; &lt;size&gt;\n</c> followed by exactly <c>size</c> bytes. Every file is checked against its hash and
/// size like a single <c>PUT files/{sha256}</c>; one refused file refuses the batch (400 naming <c>files[i]</c>) and
/// stores none of it. Needs 'deploy' in the organization.
/// </summary>
public static class FileBatchUpload
{
    /// <summary>"&lt;64 hex&gt; &lt;up to 19 digits&gt;\n", with room to spare.</summary>
    private const int MaxHeaderBytes = 128;

    public static async Task<IResult> PostAsync(string slug, HttpContext http, IGrainFactory grains, IArtifactStore store, ArtifactOptions options)
    {
        await grains.GetGrain<IOrganizationGrain>(slug).Authorize(http.Caller(), OrganizationActions.Deploy);
        if (http.Request.ContentLength is not { } length)
        {
            return Results.Problem(statusCode: StatusCodes.Status411LengthRequired, title: "Content-Length required",
                detail: "Send the files as one body with a Content-Length header (chunked uploads are not accepted).");
        }

        if (length > options.MaxBatchBytes)
        {
            return Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Batch too large",
                detail: string.Create(CultureInfo.InvariantCulture, $"A batch may be at most {options.MaxBatchBytes} bytes (CloudDeck:Artifacts:MaxBatchBytes); this one has {length}."));
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = options.MaxBatchBytes;
        var body = new BufferedStream(http.Request.Body, 64 * 1024);
        await using var batch = store.BeginBatch();
        var count = 0;
        var contents = new List<StoredContent>();
        for (; ; count++)
        {
            var field = $"files[{count}]";
            var header = await ReadHeaderAsync(body, http.RequestAborted);
            if (header is null) break;
            var parts = header.Split(' ');
            if (parts.Length != 2 || !ManifestValidation.IsSha256(parts[0]))
            {
                return JsonBody.FieldProblem(field, "must start with a line '<sha256> <size>' (64 lower-case hex digits, a space, the size in bytes)");
            }

            if (!long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                return JsonBody.FieldProblem($"{field}.size", "must be a whole number of bytes, 0 or more");
            }

            if (size > options.MaxFileBytes)
            {
                return JsonBody.FieldProblem($"{field}.size", $"must be at most {options.MaxFileBytes} bytes (CloudDeck:Artifacts:MaxFileBytes)");
            }

            try
            {
                await batch.AddAsync(parts[0], size, new BoundedReadStream(body, size), http.RequestAborted);
                contents.Add(new StoredContent(parts[0], size));
            }
            catch (InvalidFieldException invalid)
            {
                return JsonBody.FieldProblem($"{field}.{invalid.Field}", invalid.Problem);
            }
        }

        // Every file is checked and waits unpublished: counted now (refused past the plan's storage or an unverified
        // account's allowance, storing none of it), then made visible.
        var caller = http.Caller();
        var storage = grains.GetGrain<IOrganizationStorageGrain>(slug);
        var hold = await storage.Hold(caller, contents);
        try
        {
            await batch.CommitAsync(http.RequestAborted);
        }
        catch
        {
            await storage.Forget(caller, hold);
            throw;
        }

        // A content that was stored when the batch was read may have been collected before its grant was taken (it was
        // held by no organization for the whole grace period): the client sends it again.
        var collected = store.MissingFor(slug, contents.Select(c => c.Sha256));
        if (collected.Count > 0)
        {
            await storage.Forget(caller, hold with { Added = [.. hold.Added.Intersect(collected, StringComparer.Ordinal)] });
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Upload again",
                detail: $"{collected.Count} file(s) were removed from the store while this batch was read; upload them again: {string.Join(", ", collected.Take(5))}");
        }

        return Results.Ok(new StoredBatchAnswer(count));
    }

    /// <returns>The header line without its newline; null at the end of the body.</returns>
    /// <exception cref="InvalidFieldException">A line too long or cut off.</exception>
    private static async Task<string?> ReadHeaderAsync(Stream body, CancellationToken cancellationToken)
    {
        var bytes = new byte[MaxHeaderBytes];
        var one = new byte[1];
        var length = 0;
        while (true)
        {
            if (await body.ReadAsync(one, cancellationToken) == 0)
            {
                return length == 0 ? null : Encoding.ASCII.GetString(bytes, 0, length) + " (cut off)";
            }

            if (one[0] == (byte)'\n') return Encoding.ASCII.GetString(bytes, 0, length);
            if (length == MaxHeaderBytes) return "(too long)";
            bytes[length++] = one[0];
        }
    }

    /// <summary>At most <c>limit</c> bytes of the body, then its end: the store sees a short file as a size mismatch.</summary>
    private sealed class BoundedReadStream(Stream inner, long limit) : Stream
    {
        private long _left = limit;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left <= 0) return 0;
            var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken);
            _left -= read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("asynchronous reads only");

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
