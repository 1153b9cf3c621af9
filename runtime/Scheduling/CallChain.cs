namespace Actors.Runtime;

/// <summary>
/// One link of the chain of turns that led to the current call: which activation, running which request.
/// It flows with the ExecutionContext, so a call made anywhere inside a turn carries the chain with it,
/// and a callee can tell at once that accepting the call would wait on itself.
/// </summary>
internal sealed class CallChainNode(ActivationData activation, GrainRequest? request, CallChainNode? parent)
{
    private static readonly AsyncLocal<CallChainNode?> CurrentNode = new();

    public ActivationData Activation { get; } = activation;

    /// <summary>Null while the activation runs a lifecycle step (activation, deactivation).</summary>
    public GrainRequest? Request { get; } = request;

    public CallChainNode? Parent { get; } = parent;

    public static CallChainNode? Current
    {
        get => CurrentNode.Value;
        set => CurrentNode.Value = value;
    }



    /// <summary>True if this link's turn is still in progress, so its activation is waiting on the call.</summary>
    public bool IsWaiting => Request is null ? Activation.IsInLifecycleStep : !Request.Finished;

    /// <summary>The activation's own link in the chain, if it is still waiting further up.</summary>
    public static CallChainNode? FindWaiting(CallChainNode? chain, ActivationData activation)
    {
        for (var node = chain; node is not null; node = node.Parent)
        {
            if (ReferenceEquals(node.Activation, activation) && node.IsWaiting)
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
            path.Add(node.Activation.GrainId);
            if (ReferenceEquals(node.Activation, calledAgain))
            {
                break;
            }
        }

        path.Reverse();
        path.Add(calledAgain.GrainId);
        return path;
    }
}
