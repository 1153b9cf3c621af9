namespace Actors.Runtime;

/// <summary>A call would wait on itself: a non-reentrant activation in the call chain is called again.</summary>
public sealed class DeadlockException : Exception
{
    public DeadlockException(string message) : base(message)
    {
    }

    public DeadlockException(IReadOnlyList<GrainId> cycle)
        : base($"Deadlock: the call chain {string.Join(" -> ", cycle)} returns to a non-reentrant grain that is waiting on it.")
    {
        Cycle = cycle;
    }

    public IReadOnlyList<GrainId> Cycle { get; } = [];
}

/// <summary>A state write used a stale etag: another writer got there first. The activation is deactivated.</summary>
public sealed class InconsistentStateException(string message, string? storedEtag = null, string? currentEtag = null)
    : Exception(message)
{
    public string? StoredEtag { get; } = storedEtag;

    public string? CurrentEtag { get; } = currentEtag;
}

/// <summary>Thrown to callers of a grain whose activation failed (constructor, state read or OnActivateAsync).</summary>
public sealed class GrainActivationException(string message, Exception inner) : Exception(message, inner);
