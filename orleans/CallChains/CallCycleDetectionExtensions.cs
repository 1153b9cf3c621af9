using Orleans.Hosting;

namespace Actors.Extensions.CallChains;

/// <summary>Fast failure of call cycles between non-reentrant grains (Orleans 7+ has no deadlock detection).</summary>
public static class CallCycleDetectionExtensions
{
    /// <summary>
    /// Grains record the call chain in RequestContext and refuse, at the caller, a call whose target is already
    /// waiting further up the chain and cannot interleave: <see cref="CallCycleException"/> naming the cycle, at
    /// once, instead of Orleans' 30 s response timeout. Clients need nothing: a chain starts at the first grain.
    /// </summary>
    public static ISiloBuilder AddCallCycleDetection(this ISiloBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddIncomingGrainCallFilter<CallChainRecorder>();
        builder.AddOutgoingGrainCallFilter<CallCycleGuard>();
        return builder;
    }
}
