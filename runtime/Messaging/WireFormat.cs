using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Actors.Runtime;

/// <summary>
/// How requests, answers, exceptions and call chains cross the wire. Requests are the generated request
/// classes themselves, serialized by their public argument fields; grain references travel as grain ids.
/// </summary>
internal sealed class WireFormat
{
    private readonly ConcurrentDictionary<string, Type?> _requestTypes = new(StringComparer.Ordinal);

    private readonly Func<System.Reflection.Assembly, bool> _trustedAssembly;

    public WireFormat(IGrainFactory grains, Func<System.Reflection.Assembly, bool> trustedAssembly)
    {
        _trustedAssembly = trustedAssembly;
        Options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            IncludeFields = true,
            IgnoreReadOnlyProperties = true,
        };
        Options.Converters.Add(new GrainReferenceConverterFactory(grains));
    }

    public JsonSerializerOptions Options { get; }

    public static string RequestTypeName(GrainRequest request)
    {
        var type = request.GetType();
        return $"{type.FullName}, {type.Assembly.GetName().Name}";
    }

    public GrainRequest DeserializeRequest(string typeName, ReadOnlyMemory<byte> body)
    {
        // Only request classes of the grain interfaces this process knows, and only names that resolve are cached:
        // a peer cannot make us load arbitrary types or grow the cache without bound.
        if (!_requestTypes.TryGetValue(typeName, out var type))
        {
            var found = Type.GetType(typeName, throwOnError: false);
            type = found is not null && typeof(GrainRequest).IsAssignableFrom(found) && _trustedAssembly(found.Assembly) ? found : null;
            if (type is not null)
            {
                _requestTypes[typeName] = type;
            }
        }

        if (type is null)
        {
            throw new InvalidOperationException($"Unknown request type '{typeName}': the silos run different grain interface assemblies.");
        }
        return (GrainRequest)(JsonSerializer.Deserialize(body.Span, type, Options)
                              ?? throw new InvalidDataException($"Empty body for a {typeName} request."));
    }

    public static (string Type, string Message) DescribeException(Exception exception) =>
        ($"{exception.GetType().FullName}, {exception.GetType().Assembly.GetName().Name}", exception.Message);

    /// <summary>The callee's exception type when this process knows it and it takes a message; otherwise a stand-in naming it.</summary>
    public static Exception RebuildException(string? typeName, string? message)
    {
        message ??= "The remote call failed.";
        var type = typeName is null ? null : Type.GetType(typeName, throwOnError: false);
        if (type is not null && typeof(Exception).IsAssignableFrom(type)
            && type.GetConstructor(BindingFlags.Public | BindingFlags.Instance, [typeof(string)]) is { } constructor)
        {
            try
            {
                return (Exception)constructor.Invoke([message]);
            }
            catch (TargetInvocationException)
            {
                // Fall through to the stand-in.
            }
        }

        return new RemoteGrainException(typeName ?? "unknown", message);
    }
}

/// <summary>The callee threw an exception whose type this process cannot recreate; its type name and message are kept.</summary>
public sealed class RemoteGrainException(string remoteType, string message) : Exception(message)
{
    public string RemoteType { get; } = remoteType;
}

/// <summary>The silo that owns the grain could not be reached, or died with the call in flight.</summary>
public sealed class SiloUnavailableException(string message) : Exception(message);

/// <summary>
/// A silo turned a request away without running it (it is stopping): the caller may send it again, to the
/// owner its refreshed view names. Never reaches grain code.
/// </summary>
internal sealed class RequestRejectedException(string message) : Exception(message);

/// <summary>Writes grain references as their grain id and rebinds them on the other side.</summary>
internal sealed class GrainReferenceConverterFactory(IGrainFactory grains) : JsonConverterFactory
{
    private static readonly MethodInfo GetGrainById = typeof(IGrainFactory).GetMethods()
        .Single(m => m.Name == nameof(IGrainFactory.GetGrain) && m.GetParameters() is [{ ParameterType: var p }] && p == typeof(GrainId));

    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsInterface && typeof(IAddressable).IsAssignableFrom(typeToConvert) && typeToConvert != typeof(IAddressable);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Converter<>).MakeGenericType(typeToConvert), grains)!;

    private sealed class Converter<TGrain>(IGrainFactory grains) : JsonConverter<TGrain> where TGrain : class
    {
        private readonly MethodInfo _getGrain = GetGrainById.MakeGenericMethod(typeof(TGrain));

        public override TGrain? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? null : (TGrain)_getGrain.Invoke(grains, [GrainId.Parse(reader.GetString()!)])!;

        public override void Write(Utf8JsonWriter writer, TGrain value, JsonSerializerOptions options) =>
            writer.WriteStringValue(((IAddressable)value).GetGrainId().ToString());
    }
}
