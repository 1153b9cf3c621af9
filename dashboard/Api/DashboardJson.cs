using System.Text.Json;
using System.Text.Json.Nodes;

namespace CloudDeck.Dashboard.Api;

/// <summary>The API's JSON contract as a client reads it: snake_case names; members it does not know are ignored.</summary>
public static class DashboardJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = false,
    };

    public static T Read<T>(JsonNode? node) =>
        node.Deserialize<T>(Options) ?? throw new JsonException($"The API answered null where a {typeof(T).Name} was expected.");

    /// <summary>A list answer: a bare array, or a page (<c>{"items": [...], "next_cursor"}</c>, or a named array such as <c>deployments</c>).</summary>
    public static (IReadOnlyList<T> Items, string? NextCursor) ReadList<T>(JsonNode? node, string? legacyItems = null, string? legacyCursor = null)
    {
        if (node is JsonArray array) return (Read<List<T>>(array), null);
        var items = node?["items"] ?? (legacyItems is null ? null : node?[legacyItems]);
        var cursor = node?["next_cursor"] ?? (legacyCursor is null ? null : node?[legacyCursor]);
        return (items is null ? [] : Read<List<T>>(items), cursor?.ToString());
    }
}
