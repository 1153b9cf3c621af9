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
}
