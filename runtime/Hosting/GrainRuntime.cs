using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Actors.Runtime;

/// <summary>
/// The silo's runtime: grain factory, call invoker and owner of the catalog.
/// A call creates a request, registers it for its timeout, and queues it on the target's activation.
/// </summary>
internal sealed class GrainRuntime : IClusterClient, IGrainCallInvoker, IDisposable
{
    private volatile bool _stopped;

    public GrainRuntime(
        IOptions<ActorRuntimeOptions> options,
        GrainTypeRegistry registry,
        IServiceProvider services,
        ILoggerFactory loggerFactory)
    {
        Options = options.Value;
        Options.Validate();
        Registry = registry;
        ActivationLogger = loggerFactory.CreateLogger("Actors.Runtime.Activation");
        Catalog = new Catalog(this, registry);
        Timeouts = new ResponseTimeouts(Options.ResponseTimeout, Catalog);
        Activator = new GrainActivator(services, this);
    }

    public ActorRuntimeOptions Options { get; }

    public GrainTypeRegistry Registry { get; }

    public Catalog Catalog { get; }

    public ResponseTimeouts Timeouts { get; }

    public GrainActivator Activator { get; }

    public ILogger ActivationLogger { get; }

    /// <summary>Set by the silo host once the reminder service exists.</summary>
    public ReminderService Reminders { get; set; } = null!;

    public bool IsShuttingDown { get; private set; }

    public IReadOnlyList<SiloAddress> ActiveSilos => Cluster?.View.ActiveSilos.ToArray() ?? [];

    /// <summary>Set when this runtime is part of a cluster (a silo) or a client of one; null when it is alone.</summary>
    public ClusterService? Cluster { get; set; }

    public TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrainWithStringKey
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return GetGrain<TGrainInterface>(new GrainId(Registry.GetTypeName(typeof(TGrainInterface)), key));
    }

    public TGrainInterface GetGrain<TGrainInterface>(Guid key) where TGrainInterface : IGrainWithGuidKey =>
        GetGrain<TGrainInterface>(new GrainId(Registry.GetTypeName(typeof(TGrainInterface)), GrainId.FormatGuidKey(key)));

    public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId) where TGrainInterface : IAddressable =>
        (TGrainInterface)(object)Registry.CreateReference(typeof(TGrainInterface), grainId, this);

    public Task<TResult> Invoke<TResult>(GrainId target, GrainRequest<TResult> request)
    {
        request.Target = target;
        request.Chain = CallChainNode.Current;
        request.TraceParent = System.Diagnostics.Activity.Current?.Id;
        var answer = request.PrepareAnswer();
        Timeouts.Track(request);
        Dispatch(request);
        if ((request.Flags & RequestFlags.OneWay) != 0)
        {
            // The caller does not wait; failures surface only in the log.
            answer.ContinueWith(static (failed, logger) => ((ILogger)logger!).LogWarning(failed.Exception!.GetBaseException(), "A one-way call failed"),
                ActivationLogger, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return Task.FromResult(default(TResult)!);
        }

        return answer;
    }

    /// <summary>Queues a request on the activation of its target, creating the activation if needed.</summary>
    internal void Dispatch(GrainRequest request)
    {
        if (request.IsAnswered)
        {
            return; // Timed out or failed on the way: nobody waits for it, so it must not create an activation.
        }

        if (_stopped)
        {
            request.TryFail(request.IsInbound
                ? new RequestRejectedException($"The silo has stopped; {request} was not run.")
                : new InvalidOperationException($"The silo has stopped; {request} was not delivered."));
            return;
        }

        if (Cluster is { } cluster && cluster.TryRouteRemotely(request))
        {
            return;
        }

        try
        {
            Catalog.GetOrCreate(request.Target).Enqueue(request);
        }
        catch (Exception exception)
        {
            request.TryFail(exception);
        }
    }

    internal void BeginShutdown() => IsShuttingDown = true;

    internal void MarkStopped() => _stopped = true;

    internal bool IsStopped => _stopped;

    /// <summary>Fails every call still queued or running in this silo: nobody will answer them now.</summary>
    internal void FailAllPending()
    {
        foreach (var activation in Catalog.All)
        {
            activation.FailPending(request => new InvalidOperationException($"The silo stopped before {request} was answered."));
        }
    }

    /// <summary>Test hosts use this to drop every activation without deactivating it, as a crash would.</summary>
    internal bool IsAbandoned { get; private set; }

    internal void Abandon()
    {
        IsAbandoned = true;
        MarkStopped();
    }

    public void Dispose() => Timeouts.Dispose();
}
