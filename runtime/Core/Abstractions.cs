namespace Actors.Runtime;

/// <summary>Anything that can be addressed by a grain reference.</summary>
public interface IAddressable;

/// <summary>Marker for grain interfaces. Use one of the keyed variants.</summary>
public interface IGrain : IAddressable;

public interface IGrainWithStringKey : IGrain;

public interface IGrainWithGuidKey : IGrain;

/// <summary>Creates grain references. References are cheap: no call is made until a method is invoked.</summary>
public interface IGrainFactory
{
    TGrainInterface GetGrain<TGrainInterface>(string key) where TGrainInterface : IGrainWithStringKey;

    TGrainInterface GetGrain<TGrainInterface>(Guid key) where TGrainInterface : IGrainWithGuidKey;

    /// <summary>Rebinds a reference from its id, for example after deserializing one.</summary>
    TGrainInterface GetGrain<TGrainInterface>(GrainId grainId) where TGrainInterface : IAddressable;
}

/// <summary>The grain factory of a process that is not a silo: calls go to the silos of a cluster through their gateways.</summary>
public interface IClusterClient : IGrainFactory
{
    /// <summary>The active silos as this process last read them from the membership table.</summary>
    IReadOnlyList<SiloAddress> ActiveSilos { get; }
}

/// <summary>Implemented by grains that register durable reminders.</summary>
public interface IRemindable : IGrain
{
    Task ReceiveReminder(string reminderName, TickStatus status);
}

/// <summary>What a reminder tick knows about its schedule.</summary>
public readonly record struct TickStatus(DateTimeOffset FirstTickTime, TimeSpan Period, DateTimeOffset CurrentTickTime);

/// <summary>Why an activation is being deactivated.</summary>
public enum DeactivationReason
{
    IdleCollection,
    ApplicationRequested,
    InconsistentState,
    ShuttingDown,
    ActivationFailed,

    /// <summary>Another silo owns the grain now (a silo joined or left): state is written and calls follow it there.</summary>
    Rebalanced,
}

/// <summary>Result type for grain methods that return a plain Task.</summary>
public readonly struct VoidResult;
