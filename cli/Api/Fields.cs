using System.Globalization;
using System.Text.Json.Nodes;

namespace CloudDeck.Cli.Api;

/// <summary>
/// Reads fields of API answers whatever their naming: the account routes answer camelCase and the issue-6 contract
/// writes snake_case, so <c>build_id</c>, <c>buildId</c> and <c>BuildId</c> are the same field here. deck keeps
/// working whichever convention a route settles on.
/// </summary>
public static class Fields
{
    public static JsonNode? Get(JsonNode? node, string name)
    {
        if (node is not JsonObject obj) return null;
        if (obj.TryGetPropertyValue(name, out var exact)) return exact;
        var wanted = Normalize(name);
        foreach (var (key, value) in obj)
        {
            if (Normalize(key) == wanted) return value;
        }

        return null;
    }

    public static string? Text(JsonNode? node, string name) => Get(node, name) switch
    {
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        JsonValue value => value.ToJsonString(),
        _ => null,
    };

    public static long? Number(JsonNode? node, string name) => Get(node, name) switch
    {
        JsonValue value when value.TryGetValue<long>(out var number) => number,
        JsonValue value when value.TryGetValue<string>(out var text)
                             && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => null,
    };

    public static bool Flag(JsonNode? node, string name) =>
        Get(node, name) is JsonValue value && value.TryGetValue<bool>(out var flag) && flag;

    /// <summary>
    /// The items of a list answer: a bare array, or the first array property of an envelope such as the API's pages,
    /// <c>{"items": [...], "next_cursor": "…"}</c>.
    /// </summary>
    public static IReadOnlyList<JsonNode> Items(JsonNode? node, string? preferred = null)
    {
        var array = node as JsonArray
                    ?? (preferred is null ? null : Get(node, preferred) as JsonArray)
                    ?? (node as JsonObject)?.Select(p => p.Value).OfType<JsonArray>().FirstOrDefault();
        return array is null ? [] : [.. array.Where(item => item is not null).Select(item => item!)];
    }

    private static string Normalize(string name) => name.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
}
