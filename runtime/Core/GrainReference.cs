using System.ComponentModel;

namespace Actors.Runtime;

/// <summary>
/// Base of every generated grain proxy. A reference is only an id plus the runtime to send through,
/// so it is cheap to create, equal by id and interface, and can be rebuilt anywhere from its <see cref="GrainId"/>.
/// </summary>
public abstract class GrainReference : IAddressable, IEquatable<GrainReference>
{
    private readonly IGrainCallInvoker _invoker;

    protected GrainReference(GrainId grainId, IGrainCallInvoker invoker)
    {
        GrainId = grainId;
        _invoker = invoker;
    }

    public GrainId GrainId { get; }

    public abstract Type InterfaceType { get; }

    [EditorBrowsable(EditorBrowsableState.Never)]
    protected Task<TResult> InvokeAsync<TResult>(GrainRequest<TResult> request) => _invoker.Invoke(GrainId, request);

    public bool Equals(GrainReference? other) =>
        other is not null && GrainId == other.GrainId && InterfaceType == other.InterfaceType;

    public override bool Equals(object? obj) => obj is GrainReference other && Equals(other);

    public override int GetHashCode() => GrainId.GetHashCode();

    public override string ToString() => $"{InterfaceType.Name}:{GrainId}";
}

/// <summary>Sends requests on behalf of grain references. Implemented by the runtime.</summary>
public interface IGrainCallInvoker
{
    Task<TResult> Invoke<TResult>(GrainId target, GrainRequest<TResult> request);
}

public static class GrainReferenceExtensions
{
    public static GrainId GetGrainId(this IAddressable reference) => reference switch
    {
        GrainReference r => r.GrainId,
        Grain g => g.GrainId,
        _ => throw new ArgumentException($"{reference.GetType()} is neither a grain reference nor a grain.", nameof(reference)),
    };

    public static string GetPrimaryKeyString(this IAddressable reference) => reference.GetGrainId().Key;

    public static Guid GetPrimaryKey(this IAddressable reference) => reference.GetGrainId().GetGuidKey();
}
