using System.Text.Json;

namespace Actors.Runtime;

/// <summary>
/// One link of the chain of turns that led to the current call: which activation, running which request.
/// It flows with the ExecutionContext, so a call made anywhere inside a turn carries the chain with it,
/// and a callee can tell at once that accepting the call would wait on itself. Across silos the chain
/// travels in the message header as (grain id, request key) pairs: remote links name the grain and the
/// request that waits, and the silo that hosts that grain recognises its own waiting request by key.
/// </summary>
internal sealed class CallChainNode
{
    private static readonly AsyncLocal<CallChainNode?> CurrentNode = new();

    public CallChainNode(ActivationData activation, GrainRequest? request, CallChainNode? parent)
    {
        Activation = activation;
        Request = request;
        Parent = parent;
        GrainId = activation.GrainId;
    }

    private CallChainNode(GrainId grainId, string requestKey, CallChainNode? parent)
    {
        GrainId = grainId;
        RemoteRequestKey = requestKey;
        Parent = parent;
    }

    /// <summary>Null for a link that arrived from another process.</summary>
    public ActivationData? Activation { get; }

    /// <summary>Null while the activation runs a lifecycle step (activation, deactivation), or for a remote link.</summary>
    public GrainRequest? Request { get; }

    public GrainId GrainId { get; }

    /// <summary>For a remote link: the key of the request that waits (see <see cref="GrainRequest.ChainKey"/>).</summary>
    public string? RemoteRequestKey { get; }

    public CallChainNode? Parent { get; }

    public static CallChainNode? Current
    {
        get => CurrentNode.Value;
        set => CurrentNode.Value = value;
    }

    /// <summary>True if this local link's turn is still in progress, so its activation is waiting on the call.</summary>
    public bool IsWaiting => Request is null ? Activation?.IsInLifecycleStep ?? false : !Request.Finished;

    /// <summary>The activation's own link in the chain, if it is still waiting further up.</summary>
    public static CallChainNode? FindWaiting(CallChainNode? chain, ActivationData activation)
    {
        for (var node = chain; node is not null; node = node.Parent)
        {
            var waiting = node.Activation is null
                ? node.GrainId == activation.GrainId && activation.IsRunning(node.RemoteRequestKey!)
                : ReferenceEquals(node.Activation, activation) && node.IsWaiting;
            if (waiting)
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>The grains of the cycle, in call order, ending with the one called again.</summary>
    public static List<GrainId> DescribeCycle(CallChainNode chain, ActivationData calledAgain)
    {
        var path = new List<GrainId>();
        for (var node = chain; node is not null; node = node.Parent)
        {
            path.Add(node.GrainId);
            if (node.GrainId == calledAgain.GrainId)
            {
                break;
            }
        }

        path.Reverse();
        path.Add(calledAgain.GrainId);
        return path;
    }

    /// <summary>The chain for a message header: [grain id, request key] pairs, innermost first.</summary>
    public static string? Serialize(CallChainNode? chain)
    {
        if (chain is null)
        {
            return null;
        }

        var links = new List<string[]>();
        for (var node = chain; node is not null && links.Count < 64; node = node.Parent)
        {
            var key = node.RemoteRequestKey ?? node.Request?.ChainKey;
            if (key is not null)
            {
                links.Add([node.GrainId.ToString(), key]);
            }
        }

        return links.Count == 0 ? null : JsonSerializer.Serialize(links);
    }

    public static CallChainNode? Deserialize(string? header)
    {
        if (header is null)
        {
            return null;
        }

        CallChainNode? chain = null;
        var links = JsonSerializer.Deserialize<string[][]>(header) ?? [];
        for (var i = links.Length - 1; i >= 0; i--)
        {
            chain = new CallChainNode(GrainId.Parse(links[i][0]), links[i][1], chain);
        }

        return chain;
    }
}
