namespace CloudDeck.Grains.Usage;

/// <summary>
/// An organization's meter. <see cref="LastAppliedSequence"/> is written in the same state write as the totals it
/// produced, so a batch the stream delivers again after a crash is recognised and skipped.
/// </summary>
public sealed class UsageMeterState
{
    public long LastAppliedSequence { get; set; }

    /// <summary>The key of this meter's id hashes (<see cref="UsageIdWindow"/>), made on first use.</summary>
    public byte[] IdHashKey { get; set; } = [];

    /// <summary>By billing period (<c>YYYY-MM</c>).</summary>
    public Dictionary<string, UsagePeriodState> Periods { get; set; } = new(StringComparer.Ordinal);
}

public sealed class UsagePeriodState
{
    public Dictionary<string, long> Totals { get; set; } = new(StringComparer.Ordinal);

    /// <summary>By UTC day (<c>YYYY-MM-DD</c>), totals per kind.</summary>
    public Dictionary<string, Dictionary<string, long>> Days { get; set; } = new(StringComparer.Ordinal);

    public long Events { get; set; }

    public long DuplicatesIgnored { get; set; }

    /// <summary>Events of kinds beyond <see cref="UsageOptions.MaxKindsPerPeriod"/>.</summary>
    public long DroppedForTooManyKinds { get; set; }

    /// <summary>
    /// The idempotency ids counted in this period as 8-byte hashes, oldest first, at most
    /// <see cref="UsageOptions.IdempotencyIdsPerPeriod"/> (<see cref="UsageIdWindow"/>).
    /// </summary>
    public byte[] RecentIdHashes { get; set; } = [];
}
