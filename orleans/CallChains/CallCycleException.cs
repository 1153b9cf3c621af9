using Orleans;

namespace Actors.Extensions.CallChains;

/// <summary>
/// A grain call that would wait for itself: its target is already busy further up the same call chain and
/// cannot interleave, so Orleans would hold the call until the response timeout (30 s). Thrown at the
/// caller, before the message is sent. The message names the cycle, e.g. "a/1/Ping → b/1/Pong → a/1/Ping".
/// </summary>
[GenerateSerializer, Alias("actors.call-chains.call-cycle-exception")]
public sealed class CallCycleException : Exception
{
    public CallCycleException()
    {
    }

    public CallCycleException(string message)
        : base(message)
    {
    }

    public CallCycleException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal CallCycleException(IReadOnlyList<string> cycle)
        : base(Describe(cycle))
    {
        Cycle = [.. cycle];
    }

    /// <summary>The calls of the cycle in order, "grain/method" each; the last one is the call that was refused.</summary>
    [Id(0)]
    public IReadOnlyList<string> Cycle { get; init; } = [];

    private static string Describe(IReadOnlyList<string> cycle) =>
        $"Call cycle: {string.Join(" → ", cycle)}. The last call targets a non-reentrant grain that is already waiting further up this call chain, "
        + "so it could never start (Orleans would time it out after 30 s). Make the grain or the method reentrant ([Reentrant], [AlwaysInterleave], "
        + "RequestContext.AllowCallChainReentrancy()) or break the cycle.";
}
