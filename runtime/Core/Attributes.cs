namespace Actors.Runtime;

/// <summary>Requests to a reentrant grain interleave at every await.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class ReentrantAttribute : Attribute;

/// <summary>
/// The method does not change state: it may interleave with other read-only calls on the same activation.
/// Placed on grain interface methods.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ReadOnlyAttribute : Attribute;

/// <summary>
/// Fire and forget: the caller's task completes as soon as the call is sent, no answer comes back, and an
/// exception in the grain is only logged. The method must return Task or ValueTask.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OneWayAttribute : Attribute;

/// <summary>The method may interleave with any request, including non-reentrant ones.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AlwaysInterleaveAttribute : Attribute;

/// <summary>Activations of this grain class are never collected for idleness.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class KeepAliveAttribute : Attribute;

/// <summary>How long an activation of this grain class may stay idle before it is collected.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class CollectionAgeLimitAttribute(double minutes) : Attribute
{
    public TimeSpan Age { get; } = TimeSpan.FromMinutes(minutes);
}

/// <summary>The stable name of a grain class, used in grain ids and in storage rows.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Injects an <see cref="IPersistentState{T}"/> into a grain constructor parameter.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PersistentStateAttribute(string stateName, string? storageName = null) : Attribute
{
    public string StateName { get; } = stateName;

    public string StorageName { get; } = storageName ?? StorageNames.Default;
}

/// <summary>Written by the source generator: links a grain interface to its generated proxy class.</summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
public sealed class GrainProxyAttribute(Type grainInterface, Type proxy) : Attribute
{
    public Type GrainInterface { get; } = grainInterface;

    public Type Proxy { get; } = proxy;
}

public static class StorageNames
{
    public const string Default = "Default";
}
