using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace CloudDeck.Api.Edge;

/// <summary>
/// Writes one file: ETag and If-None-Match (304), Cache-Control by kind, gzip/brotli by Accept-Encoding, one byte
/// range (206/416), HEAD. Small files come from memory, large ones go out with sendfile.
/// </summary>
public static partial class StaticFileResponder
{
    public const string Immutable = "public, max-age=31536000, immutable";
    public const string Revalidate = "public, max-age=0, must-revalidate";
    public const string NoCache = "no-cache";

    private const int MinCompressBytes = 256;
    private static readonly FileExtensionContentTypeProvider Types = new();
    private static readonly ConcurrentDictionary<string, (string Type, bool Compressible)> ByExtension = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The content type for a path, with charset for text, and whether compressing it pays.</summary>
    public static (string Type, bool Compressible) ContentType(string path) =>
        ByExtension.GetOrAdd(Path.GetExtension(path), static extension =>
        {
            var type = Types.TryGetContentType("x" + extension, out var found) ? found : "application/octet-stream";
            if (type == "application/javascript") type = "text/javascript";
            var text = type.StartsWith("text/", StringComparison.Ordinal) || type is "application/json" or "application/manifest+json" or "image/svg+xml" or "application/xml";
            var compressible = text || type is "application/wasm" or "font/ttf" or "application/vnd.ms-fontobject" or "image/x-icon" or "image/bmp";
            return (text && !type.Contains("charset", StringComparison.Ordinal) ? type + "; charset=utf-8" : type, compressible);
        });

    /// <summary>Where frameworks put files whose names change with their content (Next, SvelteKit, Astro, Nuxt).</summary>
    private static readonly string[] ImmutablePrefixes = ["/_next/static/", "/_app/immutable/", "/_astro/", "/_nuxt/"];

    /// <summary>
    /// Fingerprinted assets (a hash in the name: <c>index-3f2a9c1b.js</c>, <c>app.BVz4Xe2k.css</c>, anything under a
    /// framework's immutable folder: <c>_next/static/</c>, <c>_app/immutable/</c>, <c>_astro/</c>, <c>_nuxt/</c> but
    /// its <c>builds/</c> manifests) change name when their content changes, so they may be cached for a year; HTML
    /// must be revalidated so a new deployment is seen at once.
    /// </summary>
    public static string CacheControl(string path, string contentType)
    {
        if (contentType.StartsWith("text/html", StringComparison.Ordinal)) return NoCache;
        foreach (var prefix in ImmutablePrefixes)
        {
            if (path.StartsWith(prefix, StringComparison.Ordinal) && !path.StartsWith("/_nuxt/builds/", StringComparison.Ordinal)) return Immutable;
        }

        var name = Path.GetFileNameWithoutExtension(path.AsSpan());
        foreach (var part in name.ToString().Split('-', '.', '_'))
        {
            if (Fingerprint().IsMatch(part)) return Immutable;
        }

        return Revalidate;
    }

    /// <summary>8+ characters of hex or base64url with a digit and a letter: a content hash, not a word or a version.</summary>
    [GeneratedRegex("^(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{8,64}$")]
    private static partial Regex Fingerprint();

    public static async Task WriteAsync(HttpContext http, CachedFile file, SiteFile served, int status, IReadOnlyList<KeyValuePair<string, string>>? extraHeaders)
    {
        var request = http.Request;
        var response = http.Response;
        var headers = response.Headers;
        var compressible = served.Compressible;
        response.StatusCode = status;
        headers.ContentType = served.ContentType;
        headers.CacheControl = status == StatusCodes.Status200OK ? served.CacheControl : NoCache;
        headers.AcceptRanges = "bytes";
        // Deployments are user content: a browser must not reinterpret a .txt or .json as HTML or script.
        headers.XContentTypeOptions = "nosniff";
        if (compressible) headers.Vary = "Accept-Encoding";
        if (extraHeaders is not null) foreach (var (key, value) in extraHeaders) headers.Append(key, value);

        var coding = compressible && file.Length >= MinCompressBytes
            ? Negotiate(request.Headers.AcceptEncoding)
            : ContentCoding.Identity;
        var body = coding == ContentCoding.Identity ? null : file.Encoded(coding);
        if (body is null) coding = ContentCoding.Identity;
        headers.ETag = coding switch { ContentCoding.Brotli => file.BrotliETag, ContentCoding.Gzip => file.GzipETag, _ => file.ETag };

        if (status == StatusCodes.Status200OK && NotModified(request.Headers.IfNoneMatch, file))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            headers.ContentType = default;
            return;
        }

        long offset = 0, length = file.Length;
        if (coding == ContentCoding.Identity && status == StatusCodes.Status200OK && request.Headers.Range is { Count: > 0 } range
            && IfRangeHolds(request.Headers.IfRange, file))
        {
            if (!TryRange(range.ToString(), file.Length, out offset, out length))
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                headers.ContentRange = $"bytes */{file.Length}";
                headers.ContentType = default;
                response.ContentLength = 0;
                return;
            }

            if (length != file.Length)
            {
                response.StatusCode = StatusCodes.Status206PartialContent;
                headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + length - 1}/{file.Length}");
            }
        }

        if (coding != ContentCoding.Identity)
        {
            headers.ContentEncoding = coding == ContentCoding.Brotli ? "br" : "gzip";
            length = body!.Length;
        }

        response.ContentLength = length;
        if (HttpMethods.IsHead(request.Method)) return;
        if (body is not null) await response.Body.WriteAsync(body, http.RequestAborted);
        else if (file.Bytes is not null) await response.Body.WriteAsync(file.Bytes.AsMemory((int)offset, (int)length), http.RequestAborted);
        else await response.SendFileAsync(file.Path, offset, length, http.RequestAborted);
    }

    /// <summary>br before gzip when both are accepted (smaller); q=0 refuses a coding.</summary>
    public static ContentCoding Negotiate(StringValues acceptEncoding)
    {
        if (StringValues.IsNullOrEmpty(acceptEncoding)) return ContentCoding.Identity;
        // Browsers send a handful of distinct values: parse each once.
        if (acceptEncoding.Count == 1 && Negotiated.TryGetValue(acceptEncoding[0]!, out var known)) return known;
        var coding = Parse(acceptEncoding);
        if (acceptEncoding.Count == 1 && Negotiated.Count < 256) Negotiated[acceptEncoding[0]!] = coding;
        return coding;
    }

    private static readonly ConcurrentDictionary<string, ContentCoding> Negotiated = new(StringComparer.Ordinal);

    private static ContentCoding Parse(StringValues acceptEncoding)
    {
        bool brotli = false, gzip = false;
        foreach (var value in acceptEncoding)
        {
            if (value is null) continue;
            foreach (var range in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var semicolon = range.IndexOf(';');
                var token = semicolon < 0 ? range : range[..semicolon].TrimEnd();
                var refused = semicolon >= 0 && Zero().IsMatch(range[semicolon..]);
                if (refused) continue;
                if (token.Equals("br", StringComparison.OrdinalIgnoreCase)) brotli = true;
                else if (token.Equals("gzip", StringComparison.OrdinalIgnoreCase) || token == "*") gzip = true;
            }
        }

        return brotli ? ContentCoding.Brotli : gzip ? ContentCoding.Gzip : ContentCoding.Identity;
    }

    [GeneratedRegex(@"q\s*=\s*0(\.0{0,3})?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Zero();

    /// <summary>Any of the file's encodings' tags (or *) matches: the client's copy is this content.</summary>
    private static bool NotModified(StringValues ifNoneMatch, CachedFile file)
    {
        if (StringValues.IsNullOrEmpty(ifNoneMatch)) return false;
        var prefix = file.ETag.AsSpan(0, file.ETag.Length - 1);
        foreach (var value in ifNoneMatch)
        {
            foreach (var tag in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var strong = tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;
                if (strong == "*" || strong.AsSpan().StartsWith(prefix, StringComparison.Ordinal)) return true;
            }
        }

        return false;
    }

    private static bool IfRangeHolds(StringValues ifRange, CachedFile file) => StringValues.IsNullOrEmpty(ifRange) || ifRange.ToString() == file.ETag;

    /// <summary>One range of <c>bytes=a-b</c>, <c>a-</c> or <c>-n</c>; several ranges get the whole file (allowed by RFC 9110).</summary>
    public static bool TryRange(string header, long size, out long offset, out long length)
    {
        offset = 0;
        length = size;
        if (!RangeHeaderValue.TryParse(header, out var parsed) || !string.Equals(parsed.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase)) return true;
        if (parsed.Ranges.Count != 1) return true;
        var only = parsed.Ranges.First();
        if (only.From is { } from)
        {
            if (from >= size) return false;
            var to = Math.Min(only.To ?? size - 1, size - 1);
            if (to < from) return false;
            offset = from;
            length = to - from + 1;
            return true;
        }

        if (only.To is { } suffix and > 0)
        {
            length = Math.Min(suffix, size);
            offset = size - length;
            return size > 0;
        }

        return false;
    }
}
