using CloudDeck.GrainInterfaces.Billing;
using CloudDeck.GrainInterfaces.Mail;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.Grains.Notifications;

namespace CloudDeck.Grains.Billing;

/// <summary>Stripe's events: subscriptions, invoices and the dunning they start.</summary>
public sealed partial class BillingGrain
{
    public async Task<BillingEventOutcome> Apply(BillingEvent stripeEvent)
    {
        if (!options.Enabled) return new BillingEventOutcome(false, "billing is off");
        if (Billing.RecentEventIds.Contains(stripeEvent.Id)) return Outcome(stripeEvent, false, "already applied");
        var outcome = stripeEvent.Type switch
        {
            StripeEvents.CheckoutSessionCompleted => await CheckoutCompletedAsync(stripeEvent),
            StripeEvents.SubscriptionCreated or StripeEvents.SubscriptionUpdated or StripeEvents.SubscriptionDeleted when stripeEvent.Subscription is { } subscription =>
                await SubscriptionEventAsync(subscription, stripeEvent.Created),
            StripeEvents.InvoiceFinalized or StripeEvents.InvoicePaid or StripeEvents.InvoicePaymentFailed when stripeEvent.Invoice is { } invoice =>
                await InvoiceEventAsync(stripeEvent.Type, invoice, stripeEvent.Created),
            _ => new BillingEventOutcome(false, "not an event billing acts on"),
        };

        Billing.RecentEventIds.Add(stripeEvent.Id);
        if (Billing.RecentEventIds.Count > RememberedEvents) Billing.RecentEventIds.RemoveRange(0, Billing.RecentEventIds.Count - RememberedEvents);
        await state.WriteStateAsync();
        return Outcome(stripeEvent, outcome.Applied, outcome.Reason);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == UsageReminder)
        {
            if (!options.Enabled || !IsReporting)
            {
                await UnregisterAsync(UsageReminder);
                return;
            }

            StartUsageTimer();
            await ReportUsage();
            return;
        }

        if (reminderName != DunningReminder) return;
        if (Billing.PaymentState != PaymentStates.Grace)
        {
            await UnregisterAsync(DunningReminder);
            return;
        }

        if (Now < Billing.GraceEndsAt) return;
        Billing.PaymentState = PaymentStates.Suspended;
        await state.WriteStateAsync();
        await AuditAsync(StripeActor, "billing.grace_ended", $"invoice {Billing.FailedInvoiceId} unpaid; {PlanNames.Default} limits apply until it is paid");
        await ApplyPlanAsync($"grace period ended with invoice {Billing.FailedInvoiceId} unpaid");
        await NotifyOwnersAsync(OutboxKinds.BillingSuspended, $"{Slug} is on the {PlanNames.Default} plan's limits until its invoice is paid",
            $"The grace period for the unpaid invoice {Billing.FailedInvoiceId} has ended, so {Slug} now has the {PlanNames.Default} plan's limits. " +
            "Your deployments keep serving and nothing was deleted; builds beyond the free limits are refused. Pay the invoice to restore your plan at once.");
        await UnregisterAsync(DunningReminder);
    }

    private async Task<BillingEventOutcome> CheckoutCompletedAsync(BillingEvent stripeEvent)
    {
        // The subscription's own events carry its state; the session says which subscription the organization chose.
        if (stripeEvent.Subscription is not { } chosen) return new BillingEventOutcome(false, "no subscription in the session");
        var current = await CallStripeAsync(token => stripe.GetSubscriptionAsync(chosen.Id, token));
        return await SubscriptionEventAsync(current, stripeEvent.Created, fetched: true);
    }

    /// <param name="fetched">The subscription was read from Stripe just now: it is current whatever the event's time.</param>
    private async Task<BillingEventOutcome> SubscriptionEventAsync(BillingSubscription subscription, DateTimeOffset created, bool fetched = false)
    {
        var sameSubscription = subscription.Id == Billing.SubscriptionId;
        if (!sameSubscription && Billing.SubscriptionId is not null && IsLive(Billing.SubscriptionStatus) && !IsLive(subscription.Status))
        {
            return new BillingEventOutcome(false, $"{subscription.Id} is {subscription.Status}; the organization's subscription is {Billing.SubscriptionId}");
        }

        if (!fetched && created < Billing.SubscriptionEventAt) return new BillingEventOutcome(false, "older than the subscription state applied");
        if (!fetched && created == Billing.SubscriptionEventAt && sameSubscription)
        {
            // Two changes within one second of Stripe's clock cannot be ordered by their events: ask Stripe for the current state.
            var id = subscription.Id;
            subscription = await CallStripeAsync(token => stripe.GetSubscriptionAsync(id, token));
        }

        await ApplySubscriptionAsync(subscription, created > Billing.SubscriptionEventAt ? created : Billing.SubscriptionEventAt, StripeActor);
        return new BillingEventOutcome(true, $"subscription {subscription.Id} is {subscription.Status}");
    }

    private async Task ApplySubscriptionAsync(BillingSubscription subscription, DateTimeOffset eventAt, string actor)
    {
        var before = (Billing.SubscriptionStatus, SubscribedPlan, Billing.CancelAtPeriodEnd);
        Billing.SubscriptionId = subscription.Id;
        Billing.SubscriptionStatus = subscription.Status;
        Billing.SubscriptionPriceIds = [.. subscription.PriceIds];
        Billing.CancelAtPeriodEnd = subscription.CancelAtPeriodEnd;
        Billing.CurrentPeriodStart = subscription.CurrentPeriodStart ?? Billing.CurrentPeriodStart;
        Billing.CurrentPeriodEnd = subscription.CurrentPeriodEnd ?? Billing.CurrentPeriodEnd;
        Billing.SubscriptionEventAt = eventAt;
        if (IsLive(subscription.Status) && !Billing.Usage.Started) await StartUsageReportingAsync();
        await state.WriteStateAsync();
        var after = (Billing.SubscriptionStatus, SubscribedPlan, Billing.CancelAtPeriodEnd);
        if (before != after)
        {
            await AuditAsync(actor, "billing.subscription_changed",
                $"{subscription.Id}: {before.SubscriptionStatus ?? "none"} -> {subscription.Status}, plan {after.SubscribedPlan ?? PlanNames.Default}" +
                (subscription.CancelAtPeriodEnd ? $", ends {subscription.CurrentPeriodEnd:u}" : ""));
        }

        await ApplyPlanAsync($"Stripe subscription {subscription.Id} {subscription.Status}");
    }

    private async Task<BillingEventOutcome> InvoiceEventAsync(string type, BillingInvoice invoice, DateTimeOffset created)
    {
        var view = invoice.View;
        if (Billing.Invoices.TryGetValue(view.Id, out var stored))
        {
            // A settled invoice stays settled; otherwise the newest event wins.
            if (Rank(stored.View.Status) > Rank(view.Status) || created < stored.EventAt) return new BillingEventOutcome(false, "older than the invoice state applied");
        }

        Billing.Invoices[view.Id] = new StoredInvoice { View = view, EventAt = created };
        switch (type)
        {
            case StripeEvents.InvoicePaymentFailed when view.Status != "paid":
                await PaymentFailedAsync(view);
                break;
            case StripeEvents.InvoicePaid:
                await PaidAsync(view);
                break;
        }

        return new BillingEventOutcome(true, $"invoice {view.Id} is {view.Status}");
    }

    private async Task PaymentFailedAsync(InvoiceView invoice)
    {
        await AuditAsync(StripeActor, "billing.payment_failed", $"invoice {invoice.Id} ({Money(invoice.AmountDue, invoice.Currency)})");
        if (Billing.PaymentState != PaymentStates.Good) return;
        Billing.PaymentState = PaymentStates.Grace;
        Billing.GraceEndsAt = Now + options.GracePeriod;
        Billing.FailedInvoiceId = invoice.Id;
        await state.WriteStateAsync();
        // Never due later than the grace's end, and looked at every DunningCheckPeriod (the clock may be a test's).
        var due = options.DunningCheckPeriod < options.GracePeriod ? options.DunningCheckPeriod : options.GracePeriod;
        await this.RegisterOrUpdateReminder(DunningReminder, due, options.DunningCheckPeriod);
        await AuditAsync(StripeActor, "billing.grace_started", $"until {Billing.GraceEndsAt:u}");
        await Notify.EventAsync(GrainFactory, clock, NotificationEventTypes.PaymentFailed, Slug, null, $"Payment for {Slug} failed",
            [new("invoice_id", invoice.Id), new("amount_due", Money(invoice.AmountDue, invoice.Currency)), new("grace_ends_at", $"{Billing.GraceEndsAt:u}")]);
        await NotifyOwnersAsync(OutboxKinds.BillingPaymentFailed, $"Payment for {Slug} failed",
            $"Stripe could not collect {Money(invoice.AmountDue, invoice.Currency)} for invoice {invoice.Number ?? invoice.Id}. " +
            $"Your plan stays in force until {Billing.GraceEndsAt:u}; after that {Slug} falls to the {PlanNames.Default} plan's limits " +
            "(deployments keep serving, nothing is deleted). Update your card in the billing portal.");
    }

    private async Task PaidAsync(InvoiceView invoice)
    {
        await AuditAsync(StripeActor, "billing.payment_succeeded", $"invoice {invoice.Id} ({Money(invoice.AmountPaid, invoice.Currency)})");
        if (Billing.PaymentState == PaymentStates.Good) return;
        var wasSuspended = Billing.PaymentState == PaymentStates.Suspended;
        Billing.PaymentState = PaymentStates.Good;
        Billing.GraceEndsAt = null;
        Billing.FailedInvoiceId = null;
        await state.WriteStateAsync();
        await UnregisterAsync(DunningReminder);
        await ApplyPlanAsync($"invoice {invoice.Id} paid");
        await NotifyOwnersAsync(OutboxKinds.BillingRestored, $"Payment for {Slug} received",
            wasSuspended
                ? $"Thank you: invoice {invoice.Number ?? invoice.Id} is paid and {Slug} is on the {EffectivePlan} plan again."
                : $"Thank you: invoice {invoice.Number ?? invoice.Id} is paid; the grace period is over and nothing changes for {Slug}.");
    }

    private static int Rank(string status) => status switch
    {
        "draft" => 0,
        "open" => 1,
        _ => 2, // paid, void, uncollectible: settled
    };

    private async Task NotifyOwnersAsync(string kind, string subject, string body)
    {
        var link = options.ReturnUrlFor(Slug);
        foreach (var owner in await Organization.GetOwnerEmails())
        {
            await GrainFactory.GetGrain<IOutboxGrain>(owner).Enqueue(new OutboxMessage(kind, owner, subject, $"{body}\n\n{link}\n", link, Now));
        }
    }

    private async Task UnregisterAsync(string reminderName)
    {
        if (await this.GetReminder(reminderName) is { } reminder) await this.UnregisterReminder(reminder);
    }

    private static string Money(long cents, string currency) =>
        $"{(cents / 100m).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)} {currency.ToUpperInvariant()}";

    private BillingEventOutcome Outcome(BillingEvent stripeEvent, bool applied, string reason)
    {
        LogEvent(logger, Slug, stripeEvent.Type, stripeEvent.Id, applied ? $"applied: {reason}" : $"ignored: {reason}");
        return new BillingEventOutcome(applied, reason);
    }
}
