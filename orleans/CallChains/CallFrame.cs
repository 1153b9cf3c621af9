using Orleans;
using Orleans.Runtime;

namespace Actors.Extensions.CallChains;

/// <summary>One grain call that is running and awaiting further calls: the grain, its method, and whether that method is [ReadOnly].</summary>
[GenerateSerializer, Immutable, Alias("actors.call-chains.frame")]
public sealed record CallFrame(
    [property: Id(0)] GrainId Grain,
    [property: Id(1)] string Method,
    [property: Id(2)] bool IsReadOnly)
{
    public override string ToString() => $"{Grain}/{Method}";
}
