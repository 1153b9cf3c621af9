using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.GrainInterfaces.Builds;

/// <summary>
/// The build grain's side for its own machinery: the run (outside the grain's turn) and the organization's build
/// queue report here, never a request's input. Implemented by the same grain as <see cref="IBuildGrain"/>.
/// </summary>
[Alias("clouddeck.IBuildExecutionGrain")]
public interface IBuildExecutionGrain : IGrainWithStringKey
{
    /// <summary>The queue gave the build a concurrent slot: start it (a build no longer queued gives the slot back).</summary>
    Task SlotGranted();

    /// <summary>
    /// Asks the organization's queue for a slot and starts the build when it gets one. Sent by <c>Queue</c> outside the
    /// deployment's request, so the creation does not wait on the queue; the build's check reminder asks again if it is lost.
    /// </summary>
    Task RequestSlot();

    /// <summary>Its deployment's creation failed after the build was queued: the build ends canceled with <paramref name="reason"/>.</summary>
    Task Abandon(string reason);

    /// <summary>
    /// The run moved on to <paramref name="status"/> (preparing, building or uploading). False when the build has
    /// ended meanwhile (canceled, or failed elsewhere): the run must stop.
    /// </summary>
    Task<bool> Advance(string status);

    /// <summary>The run ended; its log is flushed. Ignored when the build already ended (a cancel won).</summary>
    Task Complete(BuildOutcome outcome);

    /// <summary>The deployment has taken the build's result: nothing left to retry.</summary>
    Task DeploymentNotified();
}

/// <summary>How a run ended. <paramref name="Manifest"/> only when it succeeded.</summary>
[GenerateSerializer, Immutable, Alias("clouddeck.BuildOutcome")]
public sealed record BuildOutcome(string Status, int? ExitCode, string? Error, DeploymentManifest? Manifest);

/// <summary>
/// One organization's builds waiting for a concurrent slot, first come first served. Slots themselves are the quota
/// grain's (<c>concurrent_builds</c>); this grain only decides who asks next, and tells a waiting build when its turn came.
/// </summary>
[Alias("clouddeck.IBuildQueueGrain")]
public interface IBuildQueueGrain : IGrainWithStringKey
{
    /// <summary>True when the build holds a slot now (also when it held one already); otherwise it waits in line.</summary>
    Task<bool> Enqueue(string buildId);

    /// <summary>The build ended or gave its slot back: it leaves the line, and waiting builds get the free slots.</summary>
    Task Released(string buildId);
}
