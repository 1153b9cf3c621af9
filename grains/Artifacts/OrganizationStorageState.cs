namespace CloudDeck.Grains.Artifacts;

/// <summary>
/// What an organization holds in the artifact store. Deployments are kept as a fingerprint of what each references,
/// not the list (the deployment keeps its list): a site of ten thousand files deployed a hundred times would otherwise
/// store a million hashes here.
/// </summary>
public sealed class OrganizationStorageState
{
    /// <summary>Each content the organization holds, by SHA-256.</summary>
    public Dictionary<string, StoredContentRecord> Contents { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The deployments that reference contents, each with the fingerprint of the hashes it references.</summary>
    public Dictionary<string, string> Deployments { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether the deployments stored before this grain existed have been asked what they reference. Until then a
    /// collection pass lets nothing go, so an upgrade never removes the files of a deployment it has not heard of.
    /// </summary>
    public bool DeploymentsScanned { get; set; }

    /// <summary>Storage usage (byte-hours) is counted from here; null before anything was stored.</summary>
    public DateTimeOffset? AccruedSince { get; set; }

    /// <summary>Byte-hours counted but not yet reported (less than one, or since the last pass).</summary>
    public decimal AccruedByteHours { get; set; }

    /// <summary>Usage events written here before they are appended to the usage stream, so a crash in between sends them again (the meter counts an id once).</summary>
    public List<PendingStorageUsage> PendingUsage { get; set; } = [];
}

public sealed class StoredContentRecord
{
    public long Size { get; set; }

    /// <summary>How many of the organization's deployments reference it.</summary>
    public int References { get; set; }

    /// <summary>Since when no deployment references it (held since, or released since); null while referenced.</summary>
    public DateTimeOffset? UnreferencedSince { get; set; }
}

public sealed class PendingStorageUsage
{
    public string Id { get; set; } = "";

    public long ByteHours { get; set; }

    public DateTimeOffset Time { get; set; }
}
