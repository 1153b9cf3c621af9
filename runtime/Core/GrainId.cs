using System.Text.Json;
using System.Text.Json.Serialization;

namespace Actors.Runtime;

/// <summary>
/// Identifies one grain: its type name and its key. Printed and parsed as "type/key".
/// The hash is computed once, since every call looks the id up in the catalog.
/// </summary>
[JsonConverter(typeof(GrainIdJsonConverter))]
public readonly struct GrainId : IEquatable<GrainId>
{
    private readonly int _hash;

    public GrainId(string type, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        ArgumentNullException.ThrowIfNull(key);
        Type = type;
        Key = key;
        _hash = HashCode.Combine(StringComparer.Ordinal.GetHashCode(type), StringComparer.Ordinal.GetHashCode(key));
        StableHash = Fnv1a(Fnv1a(14695981039346656037UL, type) ^ '/', key);
    }

    /// <summary>The same in every process (string.GetHashCode is not): placement hashes on it.</summary>
    internal ulong StableHash { get; }

    internal static ulong Fnv1a(ulong hash, string text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }

    public string Type { get; }

    public string Key { get; }

    public bool Equals(GrainId other) =>
        _hash == other._hash && string.Equals(Type, other.Type, StringComparison.Ordinal) && string.Equals(Key, other.Key, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is GrainId other && Equals(other);

    public override int GetHashCode() => _hash;

    public static bool operator ==(GrainId left, GrainId right) => left.Equals(right);

    public static bool operator !=(GrainId left, GrainId right) => !left.Equals(right);

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
