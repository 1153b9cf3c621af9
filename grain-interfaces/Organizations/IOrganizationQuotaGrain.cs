
namespace CloudDeck.GrainInterfaces.Organizations;

/// <summary>
/// An organization's plan limits and usage counters, keyed by organization slug, held in memory and written to its state
/// on every change. One activation serializes every call, so a limit of N grants exactly N however many silos ask.
/// Called by grains only (builds now; deployments, projects and the edge later), never with a request's caller: they
/// have already asked <see cref="IOrganizationGrain"/> whether the caller may act. Members read it through
/// <see cref="IOrganizationGrain.GetQuotas"/>.
/// Refusals: <see cref="PlanLimitExceededException"/> (HTTP 402) for monthly quantities and ceilings,
/// <see cref="RateLimitExceededException"/> (HTTP 429) for daily quantities and concurrent slots.
/// </summary>
[Alias("clouddeck.IOrganizationQuotaGrain")]
public interface IOrganizationQuotaGrain : IGrainWithStringKey
{
    /// <summary>Counts <paramref name="amount"/> of a per-period limit, or refuses (counting nothing) when it would go past the maximum.</summary>
    Task<QuotaLimitView> Count(string limit, long amount);

    /// <summary>
    /// Adds usage that already happened (build minutes of a finished build, bytes the edge served) without refusing it;
    /// once the period's maximum is passed, <see cref="Count"/> and <see cref="EnsureRoomForOneMore"/> refuse.
    /// </summary>
    Task<QuotaLimitView> Record(string limit, long amount);

    /// <summary>
    /// Takes a slot of a concurrent limit for <paramref name="holderId"/> (a build id), and when <paramref name="alsoCount"/>
    /// is not null counts one of that per-period limit in the same turn: both or neither. Taking a slot the holder already
    /// has changes nothing, so a retried call is not counted twice.
    /// </summary>
    Task<QuotaLimitView> AcquireSlot(string limit, string holderId, string? alsoCount);

    /// <summary>Gives the holder's slot back; releasing a slot not held changes nothing.</summary>
    Task ReleaseSlot(string limit, string holderId);

    /// <summary>
    /// Takes one of each per-period limit of <paramref name="reservation"/> (a deployment's deployments and builds per day)
    /// in one turn and one write, after checking every one of them and that the <see cref="QuotaReservation.RoomIn"/>
    /// limits have room: all of it, or (refused) nothing. Reserving an id held already changes nothing, so a retry is not
    /// counted twice.
    /// </summary>
    Task Reserve(QuotaReservation reservation);

    /// <summary>
    /// Gives back everything reservation <paramref name="reservationId"/> took, when its creation was refused or failed
    /// later on. Unknown ids, ids returned already and reservations of an earlier period change nothing.
    /// </summary>
    Task Return(string reservationId);

    /// <summary>
    /// Refuses when one more would pass the limit, as <see cref="Count"/> would: a ceiling given its <paramref name="current"/>
    /// count (projects; 402), a per-period limit whose maximum is reached (402 monthly, 429 daily) or a full concurrent limit (429).
    /// </summary>
    [ReadOnly]
    Task EnsureRoomForOneMore(string limit, long current);

    /// <summary>
    /// Refuses (402) when <paramref name="amount"/> more would take a ceiling past the plan, given its <paramref name="current"/>
    /// value: stored bytes, which the organization's storage grain counts.
    /// </summary>
    [ReadOnly]
    Task EnsureRoomFor(string limit, long current, long amount);

    /// <summary>The plan and every limit with its current value; ceilings the quota grain does not count read 0.</summary>
    [ReadOnly]
    Task<QuotaUsageView> GetUsage();

    /// <summary>The organization grain's copy of its plan (one of <see cref="PlanNames"/>); the limits follow it at once.</summary>
    Task SetPlan(string plan);
}

/// <summary>Plans, by the name the API and the organization's state use.</summary>
public static class PlanNames
{
    public const string Hobby = "hobby";
    public const string Pro = "pro";
    public const string Team = "team";
    public const string Enterprise = "enterprise";

    public const string Default = Hobby;

    public static readonly IReadOnlyList<string> All = [Hobby, Pro, Team, Enterprise];

    public static bool IsValid(string? plan) => plan is not null && All.Contains(plan);
}

/// <summary>The limits a plan sets. <see cref="Unlimited"/> (-1) means no limit.</summary>
public static class QuotaLimits
{
    public const long Unlimited = -1;

    public const string ConcurrentBuilds = "concurrent_builds";
    public const string BuildsPerDay = "builds_per_day";
    public const string BuildMinutesPerMonth = "build_minutes_per_month";
    public const string DeploymentsPerDay = "deployments_per_day";
    public const string BandwidthBytesPerMonth = "bandwidth_bytes_per_month";
    public const string Projects = "projects";
    public const string TeamMembers = "team_members";

    /// <summary>Bytes of the contents the organization holds in the artifact store, each counted once (set in MB).</summary>
    public const string StorageBytes = "storage_bytes";

    public static readonly IReadOnlyList<string> All =
        [ConcurrentBuilds, BuildsPerDay, BuildMinutesPerMonth, DeploymentsPerDay, BandwidthBytesPerMonth, Projects, TeamMembers, StorageBytes];

    public static string KindOf(string limit) => limit switch
    {
        ConcurrentBuilds => QuotaKinds.Concurrent,
        BuildsPerDay or DeploymentsPerDay => QuotaKinds.PerDay,
        BuildMinutesPerMonth or BandwidthBytesPerMonth => QuotaKinds.PerMonth,
        Projects or TeamMembers or StorageBytes => QuotaKinds.Ceiling,
        _ => throw new ArgumentException($"Unknown quota limit '{limit}'; the limits are {string.Join(", ", All)}.", nameof(limit)),
    };
}

/// <param name="Id">Whose reservation (a deployment id): returned by it, and not counted twice when reserved again.</param>
/// <param name="Counts">Per-period limits to count one of each (<see cref="QuotaLimits.DeploymentsPerDay"/>, <see cref="QuotaLimits.BuildsPerDay"/>).</param>
/// <param name="RoomIn">Per-period limits that must not be used up (<see cref="QuotaLimits.BuildMinutesPerMonth"/>), counted elsewhere.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.QuotaReservation")]
public sealed record QuotaReservation(string Id, IReadOnlyList<string> Counts, IReadOnlyList<string> RoomIn);

/// <summary>How a limit counts: slots held at once, a quantity per UTC day or calendar month, or a count of things that exist.</summary>
public static class QuotaKinds
{
    public const string Concurrent = "concurrent";
    public const string PerDay = "per_day";
    public const string PerMonth = "per_month";
    public const string Ceiling = "ceiling";
}

/// <param name="Maximum">-1: unlimited.</param>
/// <param name="ResetsAt">When the period's counter starts again from 0 (UTC); null for concurrent limits and ceilings.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.QuotaLimitView")]
public sealed record QuotaLimitView(string Limit, string Kind, long Current, long Maximum, DateTimeOffset? ResetsAt);

[GenerateSerializer, Immutable, Alias("clouddeck.QuotaUsageView")]
public sealed record QuotaUsageView(string Organization, string Plan, IReadOnlyList<QuotaLimitView> Limits);
