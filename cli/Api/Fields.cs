using System.Globalization;
using System.Text.Json.Nodes;

namespace CloudDeck.Cli.Api;

/// <summary>
/// Reads fields of API answers by their one name. The API writes every body in snake_case (docs/api.md), so a field has
/// exactly one spelling: asking for another (<c>buildId</c>) is a mistake in deck, refused at once rather than guessed.
/// </summary>
public static class Fields
{
    public static JsonNode? Get(JsonNode? node, string name)
    {
        if (!IsContractName(name)) throw new ArgumentException($"'{name}' is not a snake_case field name; the API names every field in snake_case.", nameof(name));
        return node is JsonObject obj && obj.TryGetPropertyValue(name, out var value) ? value : null;
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

    public static DateTimeOffset? Time(JsonNode? node, string name) =>
        DateTimeOffset.TryParse(Text(node, name), CultureInfo.InvariantCulture, DateTimeStyles.None, out var time) ? time : null;

    public static bool Flag(JsonNode? node, string name) =>
        Get(node, name) is JsonValue value && value.TryGetValue<bool>(out var flag) && flag;

    /// <summary>The items of a list answer: a bare array, or the array of a page <c>{"items": [...], "next_cursor": "…"}</c> (or of <paramref name="envelope"/>).</summary>
    public static IReadOnlyList<JsonNode> Items(JsonNode? node, string? envelope = null)
    {
        var array = node as JsonArray ?? Get(node, envelope ?? "items") as JsonArray;
        return array is null ? [] : [.. array.Where(item => item is not null).Select(item => item!)];
    }

    /// <summary>Lower-case letters and digits in words joined by '_': the API's naming policy.</summary>
    private static bool IsContractName(string name) =>
        name.Length > 0 && char.IsAsciiLetterLower(name[0]) && !name.EndsWith('_') && !name.Contains("__", StringComparison.Ordinal)
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');
}
