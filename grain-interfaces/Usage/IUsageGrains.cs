using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.GrainInterfaces.Usage;

/// <summary>
/// The meter of one organization (keyed by its slug): consumes the organization's usage stream and keeps, per billing
/// period, totals per kind and a per-day series, counting each event id once.
/// </summary>
[Alias("clouddeck.IUsageMeterGrain")]
public interface IUsageMeterGrain : IGrainWithStringKey
{
    /// <summary>For members (a token needs 'read'); non-members get 404.</summary>
    [ReadOnly]
    Task<UsageReport> Get(Caller caller, string period);

    /// <summary>For other grains (quotas, invoices) and tests: the same report without a caller.</summary>
    [ReadOnly]
    Task<UsageReport> Report(string period);

    /// <summary>For billing: the last stream position applied and every retained period's totals, as stored with it.</summary>
    [ReadOnly]
    Task<UsageTotalsSnapshot> Totals();
}

/// <summary>
/// Usage reported by external SDKs, keyed by the credential that sends it (an API token or a session): the caller's
/// rate limit lives here, and accepted batches go to the organization's usage stream.
/// </summary>
[Alias("clouddeck.IUsageIngestGrain")]
public interface IUsageIngestGrain : IGrainWithStringKey
{
    /// <summary>
    /// Checks that the caller may report usage for <paramref name="organization"/> (developers and up; a token needs
    /// 'deploy'), takes one unit per event from the caller's token bucket (429 when empty), and appends the events.
    /// </summary>
    Task<UsageIngestResult> Ingest(Caller caller, string organization, IReadOnlyList<UsageEvent> events);
}
