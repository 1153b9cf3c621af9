using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Grains.Usage;

/// <summary>
/// Usage from external SDKs, one activation per credential (keyed by the API token, or the session): its token bucket
/// limits events per second, the organization decides who may report, and accepted batches are appended to the
/// organization's usage stream (durable before this answers). Reentrant, so one credential's batches are stored
/// concurrently; the bucket is only touched between awaits, so each take is atomic.
/// </summary>
[Reentrant]
public sealed class UsageIngestGrain(ILogStreamProvider streams, UsageOptions options, TimeProvider clock) : Grain, IUsageIngestGrain
{
    private TokenBucket? _bucket;

    public async Task<UsageIngestResult> Ingest(Caller caller, string organization, IReadOnlyList<UsageEvent> events)
    {
        if (events.Count == 0 || events.Count > options.MaxBatchSize)
        {
            throw new InvalidFieldException("events", $"must have 1 to {options.MaxBatchSize} items");
        }

        await GrainFactory.GetGrain<IOrganizationGrain>(organization).Authorize(caller, OrganizationActions.ReportUsage);
        var now = clock.GetUtcNow();
        _bucket ??= new TokenBucket(options.EventsPerSecondPerToken, options.BurstEventsPerToken, now);
        if (!_bucket.TryTake(events.Count, now, out var wait)) throw new RateLimitedException(
            $"This credential may report {options.EventsPerSecondPerToken} usage events per second (bursts of {options.BurstEventsPerToken}); this batch has {events.Count}", wait);

        // The request itself is metered in the same append: no write of its own.
        var request = new UsageEvent($"api:{Guid.NewGuid():N}", UsageKinds.ApiRequests, 1, now);
        var last = await streams.GetStream<UsageEvent>(UsageStreams.Namespace, organization).AppendBatchAsync([.. events, request]);
        CloudDeckMetrics.UsageIngested(events.Count);
        return new UsageIngestResult(organization, events.Count, last.SequenceNumber);
    }
}
