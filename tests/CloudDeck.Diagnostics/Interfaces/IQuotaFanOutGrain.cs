
namespace CloudDeck.GrainInterfaces.Diagnostics;

/// <summary>
/// Asks an organization's quota grain for one of a per-period limit many times at once from inside the cluster, so the
/// multi-process tests have requests originating on every silo. Answers where it ran and how the quota grain answered.
/// </summary>
[Alias("clouddeck.IQuotaFanOutGrain")]
public interface IQuotaFanOutGrain : IGrainWithStringKey
{
    Task<QuotaFanOutResult> Count(string organization, string limit, int requests);
}

/// <param name="Refused">Refusals by exception type name (RateLimitExceededException, PlanLimitExceededException).</param>
[GenerateSerializer, Immutable, Alias("clouddeck.QuotaFanOutResult")]
public sealed record QuotaFanOutResult(string Silo, int Granted, IReadOnlyDictionary<string, int> Refused);
