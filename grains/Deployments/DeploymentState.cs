using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Deployments;

public sealed class DeploymentState
{
    public bool Created { get; set; }

    public string Organization { get; set; } = "";

    public string Project { get; set; } = "";

    public string Target { get; set; } = "";

    public string Status { get; set; } = "";

    public string? BuildId { get; set; }

    public string? GitRef { get; set; }

    public string? Branch { get; set; }

    public string? Commit { get; set; }

    public string CreatedBy { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? ReadyAt { get; set; }

    public long Sequence { get; set; }

    /// <summary>Set once the build is ready; what the edge serves. Dropped when the deployment is deleted.</summary>
    public DeploymentManifest? Manifest { get; set; }

    /// <summary>
    /// True once a ready deployment's aliases are written. A repeated BuildFinished finishes what a failed one left
    /// undone, and never again afterwards (it would move production back from a newer deployment).
    /// </summary>
    public bool AliasesApplied { get; set; }

    /// <summary>The preview host (claimed by the project for the branch) this deployment was pointed at; null before.</summary>
    public string? PreviewHost { get; set; }

    /// <summary>A server deployment whose build succeeded and whose first health check has not answered yet (still building).</summary>
    public bool ServerPending { get; set; }

    /// <summary>Why it failed after its build (the server's health check); shown on the deployment.</summary>
    public string? Error { get; set; }

    /// <summary>
    /// The contents (SHA-256) it references in its organization's storage; null when it references none, or was stored
    /// before storage was counted (its manifest then says).
    /// </summary>
    public List<string>? StorageReferences { get; set; }

    /// <summary>What the edge serves: the manifest of a ready deployment, else null (a method, so it is never stored).</summary>
    public DeploymentManifest? ServableManifest() => Created && Status == DeploymentStatuses.Ready ? Manifest : null;
}
