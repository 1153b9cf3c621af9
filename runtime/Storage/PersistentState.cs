using System.Text.Json;

namespace Actors.Runtime;

/// <summary>
/// A grain's named state bound to a storage provider. Read before OnActivateAsync; remembers the JSON it
/// last read or wrote so that deactivation can write only what changed.
/// </summary>
internal sealed class PersistentState<TState> : IPersistentState<TState>, IActivationStateParticipant
{
    private readonly ActivationData _activation;
    private readonly IGrainStorage _storage;
    private readonly GrainStateKey _key;
    private readonly JsonSerializerOptions _json;
    private string? _lastPersistedJson;

    internal PersistentState(ActivationData activation, string stateName, IGrainStorage storage)
    {
        _activation = activation;
        _storage = storage;
        _json = activation.Runtime.Options.SerializerOptions;
        _key = new GrainStateKey(activation.Runtime.Options.ServiceId, activation.GrainId.Type, activation.GrainId.Key, stateName);
        State = CreateDefault();
        activation.AddStateParticipant(this);
    }

    public TState State { get; set; }

    public string? Etag { get; private set; }

    public bool RecordExists { get; private set; }

    public async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var record = await _storage.ReadAsync(_key, cancellationToken);
        Etag = record?.Etag;
        RecordExists = record?.Payload is not null;
        State = record?.Payload is { } payload
            ? JsonSerializer.Deserialize<TState>(payload, _json) ?? CreateDefault()
            : CreateDefault();
        _lastPersistedJson = RecordExists ? JsonSerializer.Serialize(State, _json) : null;
    }

    public Task WriteStateAsync(CancellationToken cancellationToken = default) =>
        WriteAsync(JsonSerializer.Serialize(State, _json), cancellationToken);

    private async Task WriteAsync(string json, CancellationToken cancellationToken)
    {
        try
        {
            Etag = await _storage.WriteAsync(_key, json, Etag, cancellationToken);
        }
        catch (InconsistentStateException)
        {
            _activation.MarkInconsistent();
            throw;
        }

        RecordExists = true;
        _lastPersistedJson = json;
    }

    public async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            Etag = await _storage.ClearAsync(_key, Etag, cancellationToken);
        }
        catch (InconsistentStateException)
        {
            _activation.MarkInconsistent();
            throw;
        }

        RecordExists = false;
        State = CreateDefault();
        _lastPersistedJson = null;
    }

    Task IActivationStateParticipant.ReadOnActivationAsync() => ReadStateAsync();

    Task IActivationStateParticipant.WriteIfChangedAsync()
    {
        var json = JsonSerializer.Serialize(State, _json);
        if (json == _lastPersistedJson || (!RecordExists && json == JsonSerializer.Serialize(CreateDefault(), _json)))
        {
            return Task.CompletedTask;
        }

        return WriteAsync(json, CancellationToken.None);
    }

    private static TState CreateDefault() =>
        typeof(TState).IsValueType || typeof(TState).GetConstructor(Type.EmptyTypes) is null
            ? default!
            : System.Activator.CreateInstance<TState>();
}
