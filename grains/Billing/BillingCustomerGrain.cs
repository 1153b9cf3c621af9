using CloudDeck.GrainInterfaces.Billing;

namespace CloudDeck.Grains.Billing;

/// <summary>A Stripe customer's organization, so that a webhook naming the customer reaches the right billing grain.</summary>
public sealed class BillingCustomerGrain([PersistentState("billing-customer")] IPersistentState<BillingCustomerGrain.CustomerState> state)
    : Grain, IBillingCustomerGrain
{
    public Task<string?> GetOrganization() => Task.FromResult(state.State.Organization);

    public async Task SetOrganization(string organization)
    {
        if (state.State.Organization == organization) return;
        state.State.Organization = organization;
        await state.WriteStateAsync();
    }

    public sealed class CustomerState
    {
        public string? Organization { get; set; }
    }
}
