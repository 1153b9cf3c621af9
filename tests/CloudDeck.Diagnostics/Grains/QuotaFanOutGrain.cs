using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Diagnostics;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Grains.Diagnostics;

// Random placement: the cluster tests spread these over every silo (Orleans' default weighs silos by load).
[Orleans.Placement.RandomPlacement]
public sealed class QuotaFanOutGrain(ILocalSiloDetails silo) : Grain, IQuotaFanOutGrain
{
    public async Task<QuotaFanOutResult> Count(string organization, string limit, int requests)
    {
        var quota = GrainFactory.GetGrain<IOrganizationQuotaGrain>(organization);
        var answers = await Task.WhenAll(Enumerable.Range(0, requests).Select(async _ =>
        {
            try
            {
                await quota.Count(limit, 1);
                return null;
            }
            catch (Exception e) when (e is RateLimitExceededException or PlanLimitExceededException)
            {
                return e.GetType().Name;
            }
        }));
        return new QuotaFanOutResult(silo.SiloAddress.ToString(), answers.Count(a => a is null),
            answers.OfType<string>().GroupBy(a => a).ToDictionary(g => g.Key, g => g.Count()));
    }
}
