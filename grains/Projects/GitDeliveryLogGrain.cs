using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// The project's recent push deliveries, apart from the project's own state: that state is written on every deployment
/// change, and ten thousand remembered deliveries need not be written with it.
/// </summary>
public sealed class GitDeliveryLogGrain(
    [PersistentState("git-deliveries")] IPersistentState<GitDeliveryLogGrain.DeliveryLogState> state,
    TimeProvider clock) : Grain, IGitDeliveryLogGrain
{
    public Task<GitDelivery?> Find(string? deliveryId, string payloadSha256)
    {
        var since = clock.GetUtcNow() - GitDeliveries.Window;
        var found = state.State.Deliveries.LastOrDefault(d => d.ReceivedAt > since
            && (string.Equals(d.PayloadSha256, payloadSha256, StringComparison.Ordinal)
                || (deliveryId is not null && string.Equals(d.DeliveryId, deliveryId, StringComparison.Ordinal))));
        return Task.FromResult(found);
    }

    public async Task Remember(GitDelivery delivery)
    {
        var deliveries = state.State.Deliveries;
        var since = clock.GetUtcNow() - GitDeliveries.Window;
        deliveries.RemoveAll(d => d.ReceivedAt <= since);
        deliveries.Add(delivery);
        if (deliveries.Count > GitDeliveries.MaxRemembered) deliveries.RemoveRange(0, deliveries.Count - GitDeliveries.MaxRemembered);
        await state.WriteStateAsync();
    }

    public sealed class DeliveryLogState
    {
        /// <summary>Oldest first.</summary>
        public List<GitDelivery> Deliveries { get; set; } = [];
    }
}
