using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Builds;

public sealed class BuildState
{
    public bool Created { get; set; }

    /// <summary>The organization's slug: who may see the build is decided by that organization's grain.</summary>
    public string Organization { get; set; } = "";

    public string Project { get; set; } = "";

    public string Status { get; set; } = "";

    public string CreatedBy { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    // A pipeline build (queued by a deployment); synthetic builds leave these empty and are driven from outside.

    public string? DeploymentId { get; set; }

    public string Environment { get; set; } = "";

    public DeploymentSource? Source { get; set; }

    public int? ExitCode { get; set; }

    public string? Error { get; set; }

    /// <summary>Kept until the deployment has it, so a lost notification is sent again by the reminder.</summary>
    public DeploymentManifest? Manifest { get; set; }

    public bool DeploymentNotified { get; set; }

    public bool IsPipeline => DeploymentId is not null;
}
