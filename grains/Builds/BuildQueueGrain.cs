using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds;

/// <summary>
/// An organization's line of builds waiting for the plan's concurrent-build slots (the quota grain's, keyed by build
/// id), first come first served. One activation serializes the line, so two builds never take one free slot; the slot
/// is taken here, before the build is told, so a build that starts always holds one.
/// </summary>
public sealed class BuildQueueGrain(
    [PersistentState("build-queue")] IPersistentState<BuildQueueState> state,
    ILogger<BuildQueueGrain> logger) : Grain, IBuildQueueGrain
{
    private BuildQueueState Line => state.State;

    private IOrganizationQuotaGrain Quota => GrainFactory.GetGrain<IOrganizationQuotaGrain>(this.GetPrimaryKeyString());

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        CountWaiting();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // The next activation, wherever it is, counts them from the stored line.
        CloudDeckMetrics.QueueLength(this.GetPrimaryKeyString(), 0);
        return Task.CompletedTask;
    }

    public async Task<bool> Enqueue(string buildId)
    {
        if (Line.Granted.Contains(buildId)) return true;
        if (!Line.Waiting.Contains(buildId))
        {
            Line.Waiting.Add(buildId);
            await state.WriteStateAsync();
            CountWaiting();
        }

        await GrantFreeSlotsAsync(buildId);
        return Line.Granted.Contains(buildId);
    }

    public async Task Released(string buildId)
    {
        var changed = Line.Waiting.Remove(buildId) | Line.Granted.Remove(buildId);
        // Also when this queue never granted it (a synthetic build took its slot directly): its slot frees others' turns.
        await Quota.ReleaseSlot(QuotaLimits.ConcurrentBuilds, buildId);
        if (changed) await state.WriteStateAsync();
        CountWaiting();
        await GrantFreeSlotsAsync(null);
    }

    /// <summary>Gives free slots to the oldest waiting builds; each is told, except <paramref name="asking"/>, who learns it from the answer.</summary>
    private async Task GrantFreeSlotsAsync(string? asking)
    {
        while (Line.Waiting.Count > 0)
        {
            var next = Line.Waiting[0];
            try
            {
                await Quota.AcquireSlot(QuotaLimits.ConcurrentBuilds, next, null);
            }
            catch (RateLimitExceededException)
            {
                return;
            }

            Line.Waiting.RemoveAt(0);
            Line.Granted.Add(next);
            await state.WriteStateAsync();
            CountWaiting();
            if (next != asking)
            {
                // Not awaited, and without this turn's call chain: the build may be waiting on this queue right now.
                var build = GrainFactory.GetGrain<IBuildExecutionGrain>(next);
                _ = Detached.Run(build.SlotGranted, logger, $"Telling build {next} its slot is free");
            }
        }
    }

    private void CountWaiting() => CloudDeckMetrics.QueueLength(this.GetPrimaryKeyString(), Line.Waiting.Count);
}
