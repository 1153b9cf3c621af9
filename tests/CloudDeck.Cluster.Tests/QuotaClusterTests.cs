using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Diagnostics;
using CloudDeck.GrainInterfaces.Organizations;

namespace CloudDeck.Cluster.Tests;

/// <summary>Plan quotas counted in one activation per organization: exact under concurrent requests from every silo and a client.</summary>
public sealed class QuotaClusterTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_thousand_concurrent_requests_from_three_silos_and_the_client_grant_exactly_the_quota_and_refuse_the_rest()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct);
        const string organization = "quota-race";
        // The Hobby plan's default: 100 builds a day.
        var quota = await cluster.Grains.GetGrain<IOrganizationQuotaGrain>(organization).GetUsage();
        var maximum = quota.Limits.Single(l => l.Limit == QuotaLimits.BuildsPerDay).Maximum;
        Assert.Equal(100, maximum);

        // 30 fan-out grains spread over the silos ask 25 times each (750), while the client asks 250 times, all at once.
        var fromSilos = Enumerable.Range(0, 30)
            .Select(i => cluster.Grains.GetGrain<IQuotaFanOutGrain>($"quota-fan-{i}").Count(organization, QuotaLimits.BuildsPerDay, 25)).ToArray();
        var fromClient = Enumerable.Range(0, 250).Select(async _ =>
        {
            try
            {
                await cluster.Grains.GetGrain<IOrganizationQuotaGrain>(organization).Count(QuotaLimits.BuildsPerDay, 1);
                return null;
            }
            catch (RateLimitExceededException e)
            {
                Assert.Equal(new QuotaRefusal(QuotaLimits.BuildsPerDay, maximum, maximum, e.Refusal.ResetsAt), e.Refusal);
                return e.GetType().Name;
            }
        }).ToArray();
        var silosAnswers = await Task.WhenAll(fromSilos);
        var clientAnswers = await Task.WhenAll(fromClient);

        Assert.Equal(3, silosAnswers.Select(a => a.Silo).Distinct().Count());
        var granted = silosAnswers.Sum(a => a.Granted) + clientAnswers.Count(a => a is null);
        var refused = silosAnswers.SelectMany(a => a.Refused).Select(r => (r.Key, r.Value))
            .Concat(clientAnswers.OfType<string>().Select(name => (Key: name, Value: 1)))
            .GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.Sum(r => r.Value));
        Assert.Equal(maximum, granted);
        Assert.Equal(new Dictionary<string, int> { [nameof(RateLimitExceededException)] = 1000 - (int)maximum }, refused);
        var usage = await cluster.Grains.GetGrain<IOrganizationQuotaGrain>(organization).GetUsage();
        Assert.Equal(maximum, usage.Limits.Single(l => l.Limit == QuotaLimits.BuildsPerDay).Current);
    }
}
