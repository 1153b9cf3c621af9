using System.Net.Mail;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace CloudDeck.Api.Http;

/// <summary>
/// Reads a JSON request body field by field, so that every mistake (missing, wrong type, too long, not an
/// email) becomes a 400 ProblemDetails naming the field, which model binding's one-line failures do not. A member the
/// route never asked for (another case's <c>refreshToken</c>, a typo) is a mistake too (<see cref="ApiJson"/>).
/// </summary>
public sealed class JsonBody
{
    public const int MaxBytes = 64 * 1024;

    private readonly JsonElement _root;
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    /// <summary>Every field the route asked for: what the body may hold.</summary>
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);

    private JsonBody(JsonElement root) => _root = root;

    public static Task<JsonBody> ReadAsync(HttpRequest request) => ReadAsync(request, MaxBytes);

    /// <summary>For routes that take more than <see cref="MaxBytes"/> (usage batches): the body's limit is <paramref name="maxBytes"/>.</summary>
    public static async Task<JsonBody> ReadAsync(HttpRequest request, int maxBytes)
    {
        var tooLarge = $"must be at most {maxBytes} bytes";
        if (request.ContentLength > maxBytes) return Failed(tooLarge);
        // A chunked body has no Content-Length to check, so the server is told the limit too (Kestrel then
        // refuses to read past it) and the bytes are counted here, for servers that have no such feature.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        byte[]? bytes;
        try
        {
            bytes = await ReadAtMostAsync(request.Body, maxBytes, request.HttpContext.RequestAborted, request.ContentLength);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            bytes = null;
        }

        if (bytes is null) return Failed(tooLarge);
        try
        {
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object) return Failed("must be a JSON object");
            // Checked once for every route: a string that is not text would throw wherever it is read (a 500), and
            // a repeated key would let two readers of one body see different values.
            if (FirstMistake(document.RootElement, "") is var (field, problem)) return Failed(field, problem);
            return new JsonBody(document.RootElement.Clone());
        }
        catch (JsonException)
        {
            return Failed("must be a JSON object (it is missing or not valid JSON)");
        }
    }

    /// <summary>The whole body, or null as soon as it passes <paramref name="limit"/> bytes (the rest is left unread).</summary>
    private static async Task<byte[]?> ReadAtMostAsync(Stream body, int limit, CancellationToken cancellationToken, long? contentLength = null)
    {
        if (contentLength is { } length && length <= limit)
        {
            // The usual case, and the hot path of machine calls: one array of the announced size, no copies.
            var exact = new byte[length];
            var filled = 0;
            while (filled < exact.Length && await body.ReadAsync(exact.AsMemory(filled), cancellationToken) is var got and > 0) filled += got;
            return filled == exact.Length ? exact : exact[..filled];
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit) return null;
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static JsonBody Failed(string problem) => Failed("body", problem);

    private static JsonBody Failed(string field, string problem)
    {
        var body = new JsonBody(default);
        body._errors[field] = [problem];
        return body;
    }

    /// <summary>The first string (value or key) that is not valid text, or key given twice in one object, named by its path (<c>files[2].path</c>).</summary>
    private static (string Field, string Problem)? FirstMistake(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return IsText(element) ? null : (Name(path), JsonText.InvalidText);
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FirstMistake(item, $"{path}[{index++}]") is { } mistake) return mistake;
                }

                return null;
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return (Name(path), "has a key that " + JsonText.InvalidText);
                    }

                    var at = path.Length == 0 ? name : $"{path}.{name}";
                    if (!names.Add(name)) return (at, "appears more than once in the same object");
                    if (FirstMistake(property.Value, at) is { } mistake) return mistake;
                }

                return null;
            default:
                return null;
        }

        static string Name(string path) => path.Length == 0 ? "body" : path;
    }

    private static bool IsText(JsonElement value)
    {
        try
        {
            _ = value.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public bool IsValid => _errors.Count == 0;

    /// <summary>
    /// 400 naming every bad field, or null when all were good. Call it once every field was read: a member the body
    /// holds that no read asked for is named as not part of the request.
    /// </summary>
    public IResult? Problem()
    {
        if (_root.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in _root.EnumerateObject())
            {
                if (!_asked.Contains(property.Name)) _errors.TryAdd(property.Name, [ApiJson.UnknownMember(property.Name, _asked)]);
            }
        }

        return _errors.Count == 0 ? null : ValidationProblem(_errors);
    }

    /// <summary>Names each member of <paramref name="item"/> (an object in an array, at <paramref name="at"/>) that is not one of <paramref name="known"/>.</summary>
    public void RefuseUnknownMembers(JsonElement item, string at, IReadOnlyCollection<string> known)
    {
        foreach (var property in item.EnumerateObject())
        {
            if (!known.Contains(property.Name)) _errors.TryAdd($"{at}.{property.Name}", [ApiJson.UnknownMember(property.Name, known)]);
        }
    }

    /// <summary>
    /// 400 with <c>errors</c> (field → problems); a refusal about one field also names it in the typed <c>field</c>
    /// property, so a client reads which field without parsing the detail.
    /// </summary>
    public static IResult ValidationProblem(IDictionary<string, string[]> errors) =>
        Results.ValidationProblem(errors, title: "The request is invalid",
            detail: string.Join("; ", errors.Select(e => $"{e.Key} {string.Join(", ", e.Value)}")),
            extensions: errors.Count == 1 ? new Dictionary<string, object?> { ["field"] = errors.Keys.Single() } : null);

    public static IResult FieldProblem(string field, string problem) =>
        ValidationProblem(new Dictionary<string, string[]> { [field] = [problem] });

    public string? String(string field, int maxLength, bool required = true)
    {
        if (!TryGet(field, required, out var value)) return null;
        if (value.ValueKind != JsonValueKind.String) return Error<string>(field, "must be a string");
        var text = value.GetString()!;
        if (required && text.Trim().Length == 0) return Error<string>(field, "must not be empty");
        if (text.Length > maxLength) return Error<string>(field, $"must be at most {maxLength} characters");
        return text;
    }

    public string? Email(string field)
    {
        var text = String(field, 254)?.Trim();
        if (text is null) return null;
        var valid = MailAddress.TryCreate(text, out var address) && address.Address == text && text.IndexOf('@') is > 0 and var at
                    && text.IndexOf('.', at) > at + 1 && !text.EndsWith('.');
        return valid ? text : Error<string>(field, "must be an email address such as ada@example.com");
    }

    public IReadOnlyList<string>? StringList(string field, int maxItems, int maxLength)
    {
        if (!TryGet(field, required: true, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Array) return Error<IReadOnlyList<string>>(field, "must be an array of strings");
        if (value.GetArrayLength() > maxItems) return Error<IReadOnlyList<string>>(field, $"must have at most {maxItems} items");
        var items = new List<string>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || item.GetString()!.Length > maxLength)
            {
                return Error<IReadOnlyList<string>>(field, $"must be an array of strings of at most {maxLength} characters");
            }

            items.Add(item.GetString()!);
        }

        return items;
    }

    /// <summary>The field's whole number from <paramref name="min"/> to <paramref name="max"/>; null when it is absent, or (with an error) out of range.</summary>
    /// <summary>The array in <paramref name="field"/> with 1 to <paramref name="maxItems"/> items, or null (and a 400 naming the field).</summary>
    public JsonElement? Array(string field, int maxItems)
    {
        if (!TryGet(field, required: true, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Array) return Fail(field, "must be an array");
        var count = value.GetArrayLength();
        if (count == 0) return Fail(field, "must have at least one item");
        if (count > maxItems) return Fail(field, $"must have at most {maxItems} items");
        return value;
    }

    /// <summary>Records a problem found by the caller's own reading (an item of an array); answers null for chaining.</summary>
    public JsonElement? Fail(string field, string problem)
    {
        Error<string>(field, problem);
        return null;
    }

    public int? OptionalIntBetween(string field, int min, int max)
    {
        if (!TryGet(field, required: false, out var value)) return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && number >= min && number <= max) return number;
        _errors[field] = [$"must be a whole number from {min} to {max}"];
        return null;
    }

    /// <summary>The field's whole number, <paramref name="fallback"/> when it is absent, null (and an error) when it is not a 32-bit integer.</summary>
    public int? OptionalInt(string field, int fallback)
    {
        if (!TryGet(field, required: false, out var value)) return fallback;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number)) return number;
        _errors[field] = ["must be a whole number"];
        return null;
    }

    public DateTimeOffset? OptionalDateTime(string field)
    {
        if (!TryGet(field, required: false, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String && value.TryGetDateTimeOffset(out var time)) return time;
        _errors[field] = ["must be an ISO 8601 date and time such as 2030-01-31T12:00:00Z"];
        return null;
    }

    /// <summary>Whether the body has <paramref name="field"/> with a non-null value.</summary>
    public bool Has(string field) => TryGet(field, required: false, out _);

    /// <summary>A true/false field, or null when it is absent (a 400 naming it when it is something else).</summary>
    public bool? OptionalBool(string field)
    {
        if (!TryGet(field, required: false, out var value)) return null;
        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False) return value.GetBoolean();
        _errors[field] = ["must be true or false"];
        return null;
    }

    private bool TryGet(string field, bool required, out JsonElement value)
    {
        _asked.Add(field);
        value = default;
        if (_root.ValueKind != JsonValueKind.Object) return false;
        if (_root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null) return true;
        if (required) _errors[field] = ["is required"];
        return false;
    }

    private T? Error<T>(string field, string problem) where T : class
    {
        _errors[field] = [problem];
        return null;
    }
}
