using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Billing;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Organizations;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Billing;

/// <summary>
/// An organization's billing on Stripe (keyed by slug). The organization's plan follows what Stripe confirms (webhooks,
/// <see cref="Apply"/>), never what a caller asked for; a failed payment keeps the plan through a grace period whose
/// end a reminder notices; metered usage goes to Stripe as meter events from an outbox in this grain's state.
/// Calls to Stripe are made inside the grain's turn, so one activation never races itself over a subscription.
/// </summary>
public sealed partial class BillingGrain(
    [PersistentState("billing")] IPersistentState<BillingState> state,
    BillingOptions options,
    IStripeGateway stripe,
    AuditTrail audit,
    TimeProvider clock,
    ILogger<BillingGrain> logger) : Grain, IBillingGrain, IRemindable
{
    public const int RememberedEvents = 1000;
    public const string DunningReminder = "billing-dunning";
    public const string UsageReminder = "billing-usage";

    /// <summary>Who billing's own audit entries and plan changes name as the actor.</summary>
    public const string StripeActor = "stripe";

    private static readonly TimeSpan StripeCallTimeout = TimeSpan.FromSeconds(20);

    private IGrainTimer? _usageTimer;

    private BillingState Billing => state.State;

    private string Slug => this.GetPrimaryKeyString();

    private DateTimeOffset Now => clock.GetUtcNow();

    private IOrganizationGrain Organization => GrainFactory.GetGrain<IOrganizationGrain>(Slug);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (options.Enabled && IsReporting) StartUsageTimer();
        return Task.CompletedTask;
    }

    public async Task<BillingStatusView> GetStatus(Caller caller)
    {
        await AuthorizeAsync(caller, OrganizationActions.ViewBilling);
        return await StatusAsync();
    }

    public async Task<BillingUrlView> StartUpgrade(Caller caller, string plan)
    {
        await AuthorizeAsync(caller, OrganizationActions.ManageBilling);
        if (plan == PlanNames.Default) throw new InvalidFieldException("plan", $"{PlanNames.Default} is the free plan: downgrade to it with POST …/billing/downgrade");
        var price = options.PriceOf(plan)
            ?? throw new InvalidFieldException("plan", $"must be a plan sold here: {string.Join(", ", options.Plans.Keys)}");
        var customer = await EnsureCustomerAsync(caller);
        if (HasLiveSubscription)
        {
            // Changing a running subscription is Stripe's to confirm: the portal's plan change, then a webhook.
            var portal = await CallStripeAsync(token => stripe.CreatePortalSessionAsync(customer, options.ReturnUrlFor(Slug), Billing.SubscriptionId, token));
            await AuditAsync(caller.UserId, "billing.plan_change_started", $"{Billing.AppliedPlan ?? PlanNames.Default} -> {plan} (portal)", caller.ClientAddress);
            return new BillingUrlView(portal, "portal");
        }

        var now = Now;
        var anchor = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        var url = await CallStripeAsync(token => stripe.CreateCheckoutSessionAsync(new CheckoutRequest(Slug, customer, price, [.. options.Metered.Values],
            anchor, options.ReturnUrlFor(Slug), $"checkout-{Slug}-{Guid.NewGuid():N}"), token));
        await AuditAsync(caller.UserId, "billing.checkout_started", plan, caller.ClientAddress);
        return new BillingUrlView(url, "checkout");
    }

    public async Task<BillingUrlView> OpenPortal(Caller caller)
    {
        await AuthorizeAsync(caller, OrganizationActions.ManageBilling);
        var customer = await EnsureCustomerAsync(caller);
        return new BillingUrlView(await CallStripeAsync(token => stripe.CreatePortalSessionAsync(customer, options.ReturnUrlFor(Slug), null, token)), "portal");
    }

    public async Task<BillingStatusView> DowngradeAtPeriodEnd(Caller caller)
    {
        await AuthorizeAsync(caller, OrganizationActions.ManageBilling);
        if (!HasLiveSubscription) throw new ConflictException($"{Slug} has no paid subscription; it is on the {PlanNames.Default} plan already.");
        if (!Billing.CancelAtPeriodEnd)
        {
            var subscription = Billing.SubscriptionId!;
            var updated = await CallStripeAsync(token => stripe.SetCancelAtPeriodEndAsync(subscription, cancel: true, $"cancel-{subscription}", token));
            // Stripe's answer is Stripe's state: applied like a webhook (which will follow and change nothing).
            await ApplySubscriptionAsync(updated, Now, StripeActor);
            await AuditAsync(caller.UserId, "billing.downgrade_scheduled", $"{PlanNames.Default} at {Billing.CurrentPeriodEnd:u}", caller.ClientAddress);
        }

        return await StatusAsync();
    }

    public async Task<IReadOnlyList<InvoiceView>> ListInvoices(Caller caller)
    {
        await AuthorizeAsync(caller, OrganizationActions.ViewBilling);
        return [.. Billing.Invoices.Values.Select(i => i.View).OrderByDescending(i => i.Created).ThenByDescending(i => i.Id, StringComparer.Ordinal)];
    }

    private bool HasLiveSubscription => Billing.SubscriptionId is not null && IsLive(Billing.SubscriptionStatus);

    /// <summary>Statuses in which the subscription's plan is in force (past_due: a payment failed, the grace decides).</summary>
    private static bool IsLive(string? status) => status is "active" or "trialing" or "past_due";

    private async Task AuthorizeAsync(Caller caller, string action)
    {
        await Organization.Authorize(caller, action);
        if (!options.Enabled) throw new ConflictException("Billing is not enabled on this CloudDeck (CloudDeck:Billing:Stripe:SecretKey is not set); owners set the plan with PUT /api/v1/orgs/{slug}/plan.");
    }

    /// <summary>The organization's Stripe customer, created on first need; the idempotency key makes a retried creation answer the same one.</summary>
    private async Task<string> EnsureCustomerAsync(Caller caller)
    {
        if (Billing.CustomerId is { } existing) return existing;
        var customer = await CallStripeAsync(token => stripe.CreateCustomerAsync(Slug, caller.Email, $"customer-{Slug}", token));
        // The index first: a webhook naming this customer must find the organization even if the write below fails.
        await GrainFactory.GetGrain<IBillingCustomerGrain>(customer).SetOrganization(Slug);
        Billing.CustomerId = customer;
        await state.WriteStateAsync();
        return customer;
    }

    /// <summary>A Stripe call with a deadline; a refusal or silence becomes a <see cref="PaymentProviderException"/> (HTTP 502).</summary>
    private static async Task<T> CallStripeAsync<T>(Func<CancellationToken, Task<T>> call)
    {
        using var timeout = new CancellationTokenSource(StripeCallTimeout);
        try
        {
            return await call(timeout.Token);
        }
        catch (StripeGatewayException e)
        {
            throw new PaymentProviderException(e.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new PaymentProviderException($"Stripe did not answer within {StripeCallTimeout.TotalSeconds:0} seconds; try again.");
        }
    }

    private async Task<BillingStatusView> StatusAsync()
    {
        var meter = await GrainFactory.GetGrain<IUsageMeterGrain>(Slug).Totals();
        var usage = Billing.Usage;
        return new BillingStatusView(Slug, EffectivePlan, SubscribedPlan, Billing.SubscriptionStatus, Billing.CancelAtPeriodEnd, Billing.CurrentPeriodEnd,
            Billing.PaymentState, Billing.GraceEndsAt, options.Currency,
            new UsageReportingView(meter.Sequence, usage.ReportedSequence, usage.Pending.Count, usage.MeterEventsSent, usage.LastReportedAt));
    }

    /// <summary>The paid plan of a live subscription (its base price), or null.</summary>
    private string? SubscribedPlan => IsLive(Billing.SubscriptionStatus)
        ? Billing.SubscriptionPriceIds.Select(options.PlanOfPrice).FirstOrDefault(p => p is not null)
        : null;

    /// <summary>What the quotas follow: the subscribed plan, or the free plan without one or once the grace period ran out unpaid.</summary>
    private string EffectivePlan => Billing.PaymentState == PaymentStates.Suspended ? PlanNames.Default : SubscribedPlan ?? PlanNames.Default;

    /// <summary>Tells the organization grain the plan in force when it changed; the organization audits the change.</summary>
    private async Task ApplyPlanAsync(string reason)
    {
        var plan = EffectivePlan;
        if (Billing.AppliedPlan == plan) return;
        await Organization.ApplyBillingPlan(plan, reason);
        Billing.AppliedPlan = plan;
        await state.WriteStateAsync();
    }

    private Task AuditAsync(string actor, string action, string target, string clientAddress = "") =>
        audit.AppendAsync(Slug, actor, action, target, clientAddress);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Billing of {Organization}: reporting usage to Stripe failed; it is retried with the same identifiers")]
    private static partial void LogReportFailed(ILogger logger, Exception error, string organization);

    [LoggerMessage(Level = LogLevel.Information, Message = "Billing of {Organization}: {Event} ({EventId}) {Outcome}")]
    private static partial void LogEvent(ILogger logger, string organization, string @event, string eventId, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Billing of {Organization}: usage of {Period} is older than Stripe accepts (35 days) and is not reported")]
    private static partial void LogUsageTooOld(ILogger logger, string organization, string period);
}
