using System.Collections.Concurrent;
using System.Reflection;
using Orleans;
using Orleans.Concurrency;
using Orleans.Metadata;
using Orleans.Runtime;

namespace Actors.Extensions.CallChains;

/// <summary>
/// Incoming side: when a grain's turn starts, its frame (grain, method) is appended to the chain its own
/// outgoing calls will carry.
/// </summary>
internal sealed class CallChainRecorder : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        // Grains only: system targets and grain extensions do not take part in turn-based scheduling the same way.
        if (context.Grain is not IGrainBase) return context.Invoke();
        var frame = new CallFrame(context.TargetId, context.MethodName, CallCycleGuard.Attributes(context.InterfaceMethod).ReadOnly);
        CallChain.Set([.. CallChain.Current, frame]);
        // RequestContext lives in an AsyncLocal: the change is seen by this call's own flow only, never by the caller.
        return context.Invoke();
    }
}

/// <summary>
/// Outgoing side, where the check has to be: a call that closes a cycle is never delivered (its target is
/// busy awaiting this very chain), so no incoming filter would ever run for it. The caller refuses it at once.
/// </summary>
internal sealed class CallCycleGuard(GrainPropertiesResolver grainProperties) : IOutgoingGrainCallFilter
{
    private static readonly ConcurrentDictionary<MethodInfo, (bool ReadOnly, bool AlwaysInterleave, bool OneWay)> MethodAttributes = new();
    private readonly ConcurrentDictionary<GrainType, bool> _mayInterleave = new();

    public Task Invoke(IOutgoingGrainCallContext context)
    {
        var chain = RequestContext.Get(CallChain.RequestContextKey) as CallFrame[];
        if (chain is null || chain.Length == 0) return context.Invoke();

        var method = Attributes(context.InterfaceMethod);
        if (method.OneWay) return InvokeWithoutChain(context);

        var waiting = Array.FindLastIndex(chain, frame => frame.Grain.Equals(context.TargetId));
        if (waiting >= 0 && !CanInterleave(chain[waiting], context.TargetId.Type, method))
        {
            var cycle = chain[waiting..].Select(frame => frame.ToString()).Append($"{context.TargetId}/{context.MethodName}").ToArray();
            throw new CallCycleException(cycle);
        }
        return context.Invoke();
    }

    internal static (bool ReadOnly, bool AlwaysInterleave, bool OneWay) Attributes(MethodInfo? method) =>
        method is null
            ? default
            : MethodAttributes.GetOrAdd(method, static m => (
                m.IsDefined(typeof(ReadOnlyAttribute), inherit: true),
                m.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: true),
                m.IsDefined(typeof(OneWayAttribute), inherit: true)));

    // A one-way call is not awaited: it cannot deadlock, and its target must not inherit a chain it is not part of.
    private static async Task InvokeWithoutChain(IOutgoingGrainCallContext context)
    {
        CallChain.Forget();
        await context.Invoke().ConfigureAwait(false);
    }

    // Mirrors the rules by which Orleans lets a request into a busy activation.
    private bool CanInterleave(CallFrame busy, GrainType target, (bool ReadOnly, bool AlwaysInterleave, bool OneWay) method)
    {
        if (method.AlwaysInterleave) return true;
        if (method.ReadOnly && busy.IsReadOnly) return true;
        if (RequestContext.ReentrancyId != Guid.Empty) return true; // inside AllowCallChainReentrancy()
        return _mayInterleave.GetOrAdd(target, IsReentrantOrDecidesAtRuntime);
    }

    private bool IsReentrantOrDecidesAtRuntime(GrainType type)
    {
        if (!grainProperties.TryGetGrainProperties(type, out var properties)) return true; // unknown type: never accuse
        var values = properties.Properties;
        // [MayInterleave(predicate)] is decided per message on the target: assume it may, rather than accuse wrongly.
        return (values.TryGetValue(WellKnownGrainTypeProperties.Reentrant, out var reentrant) && bool.TryParse(reentrant, out var yes) && yes)
            || values.ContainsKey(WellKnownGrainTypeProperties.MayInterleavePredicate);
    }
}
