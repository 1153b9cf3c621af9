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

    /// <summary>A page of a list: <c>{"items": [...], "next_cursor": "…" | null}</c>.</summary>
    public static (IReadOnlyList<T> Items, string? NextCursor) ReadList<T>(JsonNode? node)
    {
        var items = node?["items"];
        return (items is null ? [] : Read<List<T>>(items), node?["next_cursor"]?.GetValue<string>());
    }
}
