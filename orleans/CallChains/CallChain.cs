using Orleans.Runtime;

namespace Actors.Extensions.CallChains;

/// <summary>The chain of running calls that led to the current one, carried in <see cref="RequestContext"/>.</summary>
public static class CallChain
{
    /// <summary>The RequestContext key. Values are <see cref="CallFrame"/>[] (outermost first).</summary>
    public const string RequestContextKey = "actors.call-chain";

    /// <summary>The frames of the calls awaiting the current one, outermost first; empty outside a grain call.</summary>
    public static IReadOnlyList<CallFrame> Current => RequestContext.Get(RequestContextKey) as CallFrame[] ?? [];

    /// <summary>
    /// Forgets the chain for calls made in the rest of the current async flow. For a call the caller does not
    /// await (fire-and-forget): it cannot deadlock, and carrying the chain into it could report a cycle that is not one.
    /// </summary>
    public static void Forget() => RequestContext.Remove(RequestContextKey);

    internal static void Set(CallFrame[] frames) => RequestContext.Set(RequestContextKey, frames);
}
