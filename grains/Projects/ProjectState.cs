using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Grains.Projects;

public sealed class ProjectState
{
    public bool Created { get; set; }

    public string Name { get; set; } = "";

    /// <summary>
    /// The git URL as answers show it: credentials in it (<c>https://user:token@host/…</c>) replaced by <c>***</c>. A
    /// project stored before credentials were sealed may still hold them here; the grain seals them when it activates.
    /// </summary>
    public string? GitUrl { get; set; }

    /// <summary>AES-GCM ciphertext (<see cref="SecretsKey"/>) of the whole git URL when it carries credentials; null otherwise.</summary>
    public string? SealedGitUrl { get; set; }

    public string? LocalPath { get; set; }

    public string ProductionBranch { get; set; } = "main";

    public string RootDirectory { get; set; } = ".";

    public string? Framework { get; set; }

    public string? InstallCommand { get; set; }

    public string? BuildCommand { get; set; }

    public string? OutputDirectory { get; set; }

    public string? StartCommand { get; set; }

    public string? HealthCheckPath { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>AES-GCM ciphertext (<see cref="SecretsKey"/>) of the secret that signs push webhooks.</summary>
    public string WebhookSecret { get; set; } = "";

    public List<EnvVarRecord> Env { get; set; } = [];

    /// <summary>
    /// Every deployment, as an earlier version kept them here (rewritten whole on each change): read only to be moved
    /// into the history table (<see cref="ProjectHistory"/>) when the project activates, then empty.
    /// </summary>
    public List<DeploymentView> Deployments { get; set; } = [];

    /// <summary>
    /// The deployments production has served, oldest first (the last one serves now); the newest
    /// <see cref="ProjectGrain.MaxProductionHistory"/> are kept.
    /// </summary>
    public List<string> ProductionHistory { get; set; } = [];

    /// <summary>The production host this project claimed; null only in a project stored before hosts were claimed.</summary>
    public string? ProductionHost { get; set; }

    /// <summary>Branch → the preview host this project claimed for it (on the branch's first ready deployment).</summary>
    public Dictionary<string, string> PreviewHosts { get; set; } = new(StringComparer.Ordinal);

    public string? CurrentProduction() => ProductionHistory.Count > 0 ? ProductionHistory[^1] : null;
}

/// <summary>One variable; only the ciphertext is kept, bound to (project, environment, name).</summary>
public sealed class EnvVarRecord
{
    public string Environment { get; set; } = "";

    public string Name { get; set; } = "";

    public string Ciphertext { get; set; } = "";

    public DateTimeOffset UpdatedAt { get; set; }
}
