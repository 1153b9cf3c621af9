using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Deployments;

/// <summary>
/// What the deployment references in its organization's storage: its upload while it builds, its files once ready,
/// nothing once it failed, was canceled or deleted. The storage grain counts and keeps what deployments reference and
/// lets go of the rest after the grace period.
/// </summary>
public sealed partial class DeploymentGrain
{
    private IOrganizationStorageGrain StorageOf(string organization) => GrainFactory.GetGrain<IOrganizationStorageGrain>(organization);

    public Task<IReadOnlyList<string>> HeldContents() => Task.FromResult(HeldHashes());

    /// <summary>
    /// What it references now. A deployment stored before storage was counted has no list of its own: its manifest's
    /// files are what it serves.
    /// </summary>
    private IReadOnlyList<string> HeldHashes()
    {
        if (!Exists || Deployment.Status is DeploymentStatuses.Failed or DeploymentStatuses.Canceled or DeploymentStatuses.TimedOut) return [];
        if (Deployment.StorageReferences is { } held) return held;
        return Deployment.Manifest is { } manifest ? [.. manifest.Files.Select(f => f.Sha256).Distinct(StringComparer.Ordinal)] : [];
    }

    /// <summary>
    /// Takes these files (replacing what it held, so an upload's sources not in the output are let go) before the state
    /// that says so is written by the caller: the storage grain never misses a reference the deployment has.
    /// </summary>
    /// <exception cref="PlanLimitExceededException">Files not counted yet (a build's output) would take the organization past its storage.</exception>
    private async Task ReferenceAsync(string organization, IReadOnlyList<ManifestFile> files)
    {
        var previous = HeldHashes();
        await StorageOf(organization).Reference(Id, files, previous.Count > 0 ? previous : null);
        Deployment.StorageReferences = [.. files.Select(f => f.Sha256).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Gives back <paramref name="held"/> (taken with <see cref="HeldHashes"/> before the state changed) after the state
    /// that says the deployment no longer serves is written. A failed release keeps the files counted, never the reverse.
    /// </summary>
    private async Task ReleaseStorageAsync(IReadOnlyList<string> held)
    {
        if (held.Count == 0) return;
        await StorageOf(Deployment.Organization).Release(Id, held);
    }

    /// <summary>The refusal's text without the tail that carries its numbers across the wire.</summary>
    private static string Readable(PlanLimitExceededException refusal)
    {
        var tail = refusal.Message.LastIndexOf(" [limit=", StringComparison.Ordinal);
        return tail > 0 ? refusal.Message[..tail] : refusal.Message;
    }
}
