using System.Text.Json;
using System.Text.Json.Serialization;

namespace Actors.Runtime;

/// <summary>Identifies one grain: its type name and its key. Printed and parsed as "type/key".</summary>
[JsonConverter(typeof(GrainIdJsonConverter))]
public readonly record struct GrainId(string Type, string Key)
{
    public override string ToString() => $"{Type}/{Key}";

    public static GrainId Parse(string value)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == value.Length - 1)
        {
            throw new FormatException($"'{value}' is not a grain id; expected 'type/key'.");
        }

        return new GrainId(value[..slash], value[(slash + 1)..]);
    }

    public Guid GetGuidKey() => Guid.TryParseExact(Key, "N", out var guid)
        ? guid
        : throw new InvalidOperationException($"Grain {this} does not have a Guid key.");

    internal static string FormatGuidKey(Guid key) => key.ToString("N");
}

internal sealed class GrainIdJsonConverter : JsonConverter<GrainId>
{
    public override GrainId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        GrainId.Parse(reader.GetString() ?? throw new JsonException("A grain id cannot be null."));

    public override void Write(Utf8JsonWriter writer, GrainId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
