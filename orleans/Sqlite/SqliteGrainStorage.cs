using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Actors.Extensions.Sqlite;

/// <summary>
/// Grain state in a SQLite file, as JSON (System.Text.Json), with optimistic concurrency on the row version:
/// a write or clear whose ETag is stale changes nothing and throws <see cref="InconsistentStateException"/>,
/// on which Orleans deactivates the activation so the next call reads the current state. Writes are
/// group-committed by the file's single writer; reads use separate read-only connections.
/// Rows are keyed by service id, grain type, grain key and state name (all as text).
/// </summary>
public sealed partial class SqliteGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private const string Select =
        "SELECT payload, version FROM grain_state WHERE service_id = $service AND grain_type = $type AND grain_key = $key AND state_name = $name";

    private readonly string _name;
    private readonly string _serviceId;
    private readonly JsonSerializerOptions _json;
    private readonly IActivatorProvider _activators;
    private readonly SqliteDatabase _database;
    private readonly ILogger _logger;

    internal SqliteGrainStorage(string name, SqliteGrainStorageOptions options, string serviceId, SqliteDatabases databases,
        IActivatorProvider activators, ILogger<SqliteGrainStorage> logger)
    {
        _name = name;
        _serviceId = serviceId;
        _json = options.JsonSerializerOptions;
        _activators = activators;
        _logger = logger;
        _database = databases.Get(options);
    }

    internal static SqliteGrainStorage Create(IServiceProvider services, string name) =>
        new(name,
            services.GetRequiredService<IOptionsMonitor<SqliteGrainStorageOptions>>().Get(name),
            services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
            services.GetRequiredService<SqliteDatabases>(),
            services.GetRequiredService<IActivatorProvider>(),
            services.GetRequiredService<ILogger<SqliteGrainStorage>>());

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = Key(stateName, grainId);
        var (payload, version) = await _database.ReadAsync(Select, parameters => Bind(parameters, key), reader =>
            reader.Read() ? (reader.IsDBNull(0) ? null : reader.GetFieldValue<byte[]>(0), (long?)reader.GetInt64(1)) : (null, null))
            .ConfigureAwait(false);

        T? state = default;
        if (payload is not null)
        {
            try
            {
                state = JsonSerializer.Deserialize<T>(payload, _json);
            }
            catch (JsonException exception)
            {
                LogUnreadable(_logger, exception, _name, key.ToString(), typeof(T).FullName ?? typeof(T).Name);
                throw new OrleansException(
                    $"The stored state {key} (storage '{_name}') is not valid JSON for {typeof(T).FullName}: {exception.Message}", exception);
            }
        }

        grainState.State = state ?? _activators.GetActivator<T>().Create();
        grainState.ETag = version is { } v ? SqliteEtags.Format(v) : null;
        grainState.RecordExists = payload is not null;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        var key = Key(stateName, grainId);
        var expected = SqliteEtags.ParseVersion(grainState.ETag, key);
        // Serialized here, on the caller's thread, so the writer thread only runs SQL.
        var payload = JsonSerializer.SerializeToUtf8Bytes(grainState.State, _json);
        var version = await WriteAsync(new SqliteStateWrite(key, payload, expected), key, cancellationToken).ConfigureAwait(false);
        grainState.ETag = SqliteEtags.Format(version!.Value);
        grainState.RecordExists = true;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        var key = Key(stateName, grainId);
        var expected = SqliteEtags.ParseVersion(grainState.ETag, key);
        var version = await WriteAsync(new SqliteStateWrite(key, null, expected), key, cancellationToken).ConfigureAwait(false);
        grainState.ETag = version is { } v ? SqliteEtags.Format(v) : null;
        grainState.RecordExists = false;
        grainState.State = _activators.GetActivator<T>().Create();
    }

    private async Task<long?> WriteAsync(SqliteStateWrite write, SqliteStateKey key, CancellationToken cancellationToken)
    {
        try
        {
            return await _database.WriteAsync(write, cancellationToken).ConfigureAwait(false);
        }
        catch (InconsistentStateException exception)
        {
            LogStale(_logger, _name, key.ToString(), exception.CurrentEtag, exception.StoredEtag);
            throw;
        }
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        // Early enough that a database that must be refused stops the silo before any grain activates.
        lifecycle.Subscribe($"{nameof(SqliteGrainStorage)}-{_name}", ServiceLifecycleStage.RuntimeStorageServices,
            _ => _database.InitializeAsync(), _ => Task.CompletedTask);

    private SqliteStateKey Key(string stateName, GrainId grainId) =>
        new(_serviceId, grainId.Type.ToString()!, grainId.Key.ToString()!, stateName);

    private static void Bind(Microsoft.Data.Sqlite.SqliteParameterCollection parameters, SqliteStateKey key)
    {
        parameters.AddWithValue("$service", key.ServiceId);
        parameters.AddWithValue("$type", key.GrainType);
        parameters.AddWithValue("$key", key.GrainKey);
        parameters.AddWithValue("$name", key.StateName);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Storage {StorageName}: stale ETag on {StateKey} (this activation had {ExpectedEtag}, storage holds {StoredEtag}); nothing written")]
    private static partial void LogStale(ILogger logger, string storageName, string stateKey, string? expectedEtag, string? storedEtag);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storage {StorageName}: the stored state {StateKey} cannot be read as {StateType}")]
    private static partial void LogUnreadable(ILogger logger, Exception exception, string storageName, string stateKey, string stateType);
}
