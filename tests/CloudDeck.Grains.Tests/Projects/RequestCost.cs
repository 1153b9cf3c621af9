using System.Collections.Concurrent;
using Actors.Extensions.Records;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Providers;
using Orleans.Runtime;
using Orleans.Storage;

namespace CloudDeck.Grains.Tests.Projects;

/// <summary>
/// What one request costs the cluster, measured in the test silo: every grain call that carries the request's mark in
/// Orleans' <see cref="RequestContext"/> (which flows down every call the request causes, and not into work a grain
/// detaches from it), every grain state write and every record-store write made while serving one. Registered with
/// <see cref="RequestCostSiloExtensions.AddRequestCost"/>; the grain storage and the record store are wrapped, so the
/// counts are the real writes of the real providers. The wrappers also fail a chosen write, for the refusal tests.
/// </summary>
public sealed class RequestCostMeter
{
    public const string ContextKey = "test.request-cost";

    private readonly ConcurrentDictionary<string, RequestCost> _costs = new(StringComparer.Ordinal);

    /// <summary>Marks the calls made from this async flow until disposed; their cost collects in the answer.</summary>
    public (RequestCost Cost, IDisposable Scope) Measure(string name)
    {
        var cost = _costs[name] = new RequestCost(name);
        RequestContext.Set(ContextKey, name);
        return (cost, new Scope());
    }

    /// <summary>The next grain state write of <paramref name="stateName"/> throws (once).</summary>
    public string? FailNextStateWrite { get; set; }

    /// <summary>The next record-store write that touches <paramref name="table"/> throws (once).</summary>
    public string? FailNextRecordWriteOf { get; set; }

    internal RequestCost? Current => RequestContext.Get(ContextKey) is string name && _costs.TryGetValue(name, out var cost) ? cost : null;

    private sealed class Scope : IDisposable
    {
        public void Dispose() => RequestContext.Remove(ContextKey);
    }
}

/// <param name="Interface">The called grain interface's name, e.g. <c>IProjectGrain</c>.</param>
/// <param name="Source">The calling grain (its type and key), or "client" for the request's entry call.</param>
public sealed record GrainCall(string Interface, string Method, string Source, string Target)
{
    /// <summary>A call to one of Orleans' system targets (the reminder service), not to a grain.</summary>
    public bool ToService => Target.StartsWith("sys.", StringComparison.Ordinal);

    public override string ToString() => $"{Source} -> {Interface}.{Method} ({Target})";
}

public sealed class RequestCost(string name)
{
    private readonly ConcurrentQueue<GrainCall> _calls = new();
    private readonly ConcurrentQueue<string> _stateWrites = new();
    private readonly ConcurrentQueue<int> _recordWrites = new();

    public string Name => name;

    /// <summary>Every call to a grain of the request, in the order they arrived (Orleans' own services apart).</summary>
    public IReadOnlyList<GrainCall> Calls => [.. _calls.Where(c => !c.ToService)];

    /// <summary>Grain calls made by grains while serving the request (all but the request's entry call).</summary>
    public IReadOnlyList<GrainCall> GrainToGrainCalls => [.. Calls.Where(c => c.Source != "client")];

    /// <summary>Calls to Orleans' own services (system targets): reminder registrations, which write the reminder table.</summary>
    public IReadOnlyList<GrainCall> ServiceCalls => [.. _calls.Where(c => c.ToService)];

    /// <summary>Grain state writes and clears, as "state name of grain".</summary>
    public IReadOnlyList<string> StateWrites => [.. _stateWrites];

    /// <summary>Record-store transactions, each with how many rows it wrote.</summary>
    public IReadOnlyList<int> RecordWrites => [.. _recordWrites];

    internal void Call(GrainCall call) => _calls.Enqueue(call);

    internal void StateWrite(string what) => _stateWrites.Enqueue(what);

    internal void RecordWrite(int rows) => _recordWrites.Enqueue(rows);

    public string Describe() =>
        $"{name}:\n  calls:\n    {string.Join("\n    ", _calls)}\n  state writes: {string.Join(", ", StateWrites)}\n  record writes (rows): {string.Join(", ", RecordWrites)}";
}

internal sealed class CountingCallFilter(RequestCostMeter meter) : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        meter.Current?.Call(new GrainCall(ShortName(context.InterfaceName), context.MethodName,
            context.SourceId is { } source && !GrainTypePrefix.IsClient(source) ? source.ToString() : "client", context.TargetId.ToString()));
        return context.Invoke();
    }

    private static string ShortName(string interfaceName) => interfaceName[(interfaceName.LastIndexOf('.') + 1)..];
}

internal sealed class CountingGrainStorage(IGrainStorage inner, RequestCostMeter meter) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Count(stateName, grainId);
        return inner.WriteStateAsync(stateName, grainId, grainState);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Count(stateName, grainId);
        return inner.ClearStateAsync(stateName, grainId, grainState);
    }

    private void Count(string stateName, GrainId grainId)
    {
        meter.Current?.StateWrite($"{stateName} of {grainId}");
        if (meter.FailNextStateWrite == stateName)
        {
            meter.FailNextStateWrite = null;
            throw new IOException($"Test: the write of {stateName} of {grainId} fails.");
        }
    }

    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);
}

internal sealed class CountingRecordStore(IRecordStore inner, RequestCostMeter meter) : IRecordStore
{
    public Task<IReadOnlyList<long>> WriteAsync(string serviceId, IReadOnlyList<RecordWrite> writes, CancellationToken cancellationToken)
    {
        meter.Current?.RecordWrite(writes.Count);
        if (meter.FailNextRecordWriteOf is { } table && writes.Any(w => w.Table == table))
        {
            meter.FailNextRecordWriteOf = null;
            throw new IOException($"Test: a write of {table} rows fails.");
        }

        return inner.WriteAsync(serviceId, writes, cancellationToken);
    }

    public Task<IReadOnlyList<StoredRecord>> ReadNewestAsync(string serviceId, string table, string partition, long? before, int maxCount,
        CancellationToken cancellationToken) => inner.ReadNewestAsync(serviceId, table, partition, before, maxCount, cancellationToken);

    public Task<StoredRecord?> FindAsync(string serviceId, string table, string partition, string key, CancellationToken cancellationToken) =>
        inner.FindAsync(serviceId, table, partition, key, cancellationToken);

    public Task<long> LastPositionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken) =>
        inner.LastPositionAsync(serviceId, table, partition, cancellationToken);

    public Task<long> DeletePartitionAsync(string serviceId, string table, string partition, CancellationToken cancellationToken) =>
        inner.DeletePartitionAsync(serviceId, table, partition, cancellationToken);
}

public static class RequestCostSiloExtensions
{
    /// <summary>
    /// Counts through <paramref name="meter"/>: an incoming call filter, and wrappers around the default grain storage
    /// and the record store this silo was given (call after they are configured).
    /// </summary>
    public static ISiloBuilder AddRequestCost(this ISiloBuilder silo, RequestCostMeter meter)
    {
        var services = silo.Services;
        services.AddSingleton<IIncomingGrainCallFilter>(new CountingCallFilter(meter));
        var storage = services.Last(d => d.ServiceType == typeof(IGrainStorage) && Equals(d.ServiceKey, ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
        var createStorage = storage.KeyedImplementationFactory ?? throw new InvalidOperationException("The default grain storage is not made by a factory.");
        services.Remove(storage);
        services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME,
            (provider, key) => new CountingGrainStorage((IGrainStorage)createStorage(provider, key), meter));
        var records = services.Last(d => d.ServiceType == typeof(IRecordStore));
        services.Remove(records);
        services.AddSingleton<IRecordStore>(provider => new CountingRecordStore((IRecordStore)records.ImplementationFactory!(provider), meter));
        return silo;
    }
}
