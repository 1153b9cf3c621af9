using System.Text.Json;
using Orleans.Storage;

namespace Actors.Extensions.Storage;

/// <summary>
/// Grain state as System.Text.Json, for Orleans' storage providers (the ADO.NET one writes Newtonsoft JSON with type names
/// by default). The same format as the SQLite storage's, so a state class needs no attributes of either serializer and stays
/// readable after a field is added or removed.
/// </summary>
public sealed class SystemTextJsonGrainStorageSerializer(JsonSerializerOptions? options = null) : IGrainStorageSerializer
{
    private readonly JsonSerializerOptions _options = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);

    public BinaryData Serialize<T>(T? input) => BinaryData.FromObjectAsJson(input, _options);

    public T? Deserialize<T>(BinaryData input) => input.ToObjectFromJson<T>(_options);
}
