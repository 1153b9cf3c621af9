using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CloudDeck.Api.Http;

/// <summary>
/// Every list route pages the same way: the query's <c>limit</c> (1–<see cref="MaxLimit"/>, default
/// <see cref="DefaultLimit"/>) and <c>cursor</c> (the previous page's <c>next_cursor</c>, opaque to clients), answered as
/// <c>{ "items": [...], "next_cursor": "…" | null }</c>. Histories (deployments, the audit log) are paged by their grain
/// from its table; lists a grain holds whole and small (members, tokens, variables…) are sliced here in a fixed order.
/// </summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    private const string CursorRule = "must be the next_cursor of the page before (as the API gave it)";

    /// <summary>A list route's answer: one of <see cref="Slice{T}"/>'s or a history grain's page.</summary>
    public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

    /// <summary>The query's limit and cursor (decoded), or a 400 naming the parameter that is wrong.</summary>
    public static bool TryRead(HttpRequest request, out int limit, out string? after, out IResult? problem)
    {
        limit = DefaultLimit;
        after = null;
        problem = null;
        var query = request.Query;
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            problem = JsonBody.FieldProblem("limit", $"must be a whole number from 1 to {MaxLimit}");
            return false;
        }

        if (query.TryGetValue("cursor", out var cursorText))
        {
            after = Decode(cursorText.ToString());
            if (after is null)
            {
                problem = JsonBody.FieldProblem("cursor", CursorRule);
                return false;
            }
        }

        return true;
    }

    /// <summary>For a history paged by sequence: the limit, and the sequence the page starts below (null: the newest).</summary>
    public static bool TryReadSequence(HttpRequest request, out int limit, out long? before, out IResult? problem)
    {
        before = null;
        if (!TryRead(request, out limit, out var after, out problem)) return false;
        if (after is null) return true;
        if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) || sequence < 1)
        {
            problem = JsonBody.FieldProblem("cursor", CursorRule);
            return false;
        }

        before = sequence;
        return true;
    }

    /// <summary>A history's page, whose next page starts below sequence <paramref name="nextBefore"/>.</summary>
    public static Page<T> Sequenced<T>(IReadOnlyList<T> items, long? nextBefore) =>
        new(items, nextBefore is { } next ? Encode(next.ToString(CultureInfo.InvariantCulture)) : null);

    /// <summary>A page of a list ordered by a unique name, whose next page starts after <paramref name="lastName"/>.</summary>
    public static Page<T> Named<T>(IReadOnlyList<T> items, string? lastName) => new(items, lastName is null ? null : Encode(lastName));

    /// <summary>
    /// Reads the query, asks for the whole list, and answers the page after the cursor in the order of
    /// <paramref name="key"/> (unique per item; see <see cref="Key"/>). With <paramref name="json"/> the answer uses those options.
    /// </summary>
    public static async Task<IResult> ListAsync<T>(HttpRequest request, Func<Task<IReadOnlyList<T>>> list, Func<T, string> key,
        JsonSerializerOptions? json = null)
    {
        if (!TryRead(request, out var limit, out var after, out var problem)) return problem!;
        var ordered = (await list()).Select(item => (Key: key(item), Item: item)).OrderBy(entry => entry.Key, StringComparer.Ordinal).ToList();
        var rest = after is null ? ordered : ordered.Where(entry => string.CompareOrdinal(entry.Key, after) > 0).ToList();
        var page = rest.Take(limit).ToList();
        var answer = new Page<T>([.. page.Select(entry => entry.Item)], rest.Count > limit ? Encode(page[^1].Key) : null);
        return json is null ? Results.Ok(answer) : Results.Json(answer, json);
    }

    /// <summary>A sort key of a time and a tie-breaking id: oldest first, then by id.</summary>
    public static string Key(DateTimeOffset at, string id) =>
        at.UtcTicks.ToString("D20", CultureInfo.InvariantCulture) + "/" + id;

    /// <summary>A sort key of a time and a tie-breaking id: newest first, then by id.</summary>
    public static string NewestFirstKey(DateTimeOffset at, string id) =>
        (DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks).ToString("D20", CultureInfo.InvariantCulture) + "/" + id;

    private static string Encode(string key) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(key));

    private static string? Decode(string cursor)
    {
        if (cursor.Length is 0 or > 1024) return null;
        try
        {
            return Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
