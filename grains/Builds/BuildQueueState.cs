namespace CloudDeck.Grains.Builds;

public sealed class BuildQueueState
{
    /// <summary>Builds waiting for a slot, oldest first.</summary>
    public List<string> Waiting { get; set; } = [];

    /// <summary>Builds this queue gave a slot to that have not released it yet (asking again answers "granted").</summary>
    public List<string> Granted { get; set; } = [];
}
