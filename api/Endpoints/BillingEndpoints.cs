using System.Globalization;
using System.Text;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces.Billing;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Billing;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// Billing on Stripe: an organization's status, upgrade (Checkout) and portal links, the downgrade at period end,
/// invoices, the upcoming invoice and CSV exports, all answered by the organization's billing grain; and Stripe's
/// webhook, verified here and handed to the billing grain of the customer's organization.
/// </summary>
public static class BillingEndpoints
{
    public const string WebhookPath = "/billing/stripe/webhook";
    public const int MaxWebhookBytes = 1024 * 1024;
    private const string Tag = "Billing";

    public static RouteGroupBuilder MapBillingEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost(WebhookPath, ReceiveWebhookAsync).AllowAnonymous()
            .Describe("receiveStripeWebhook", "Stripe's webhook: a signed event, applied once").WithTags(Tag)
            .TakesRaw("application/json").TakesHeader("Stripe-Signature", "t=<time>,v1=<HMAC-SHA256 of the body with the webhook secret>", required: true)
            .Answers<WebhookAnswer>().Refuses(400, 404);

        var billing = api.MapGroup("/orgs/{slug}/billing").SignedIn().WithTags(Tag).Refuses(400, 404)
            .AddEndpointFilter(async (context, next) =>
                context.HttpContext.Request.RouteValues["slug"] is string slug && RouteValues.IsSlug(slug)
                    ? await next(context)
                    : JsonBody.FieldProblem("slug", RouteValues.SlugRule));
        static IBillingGrain Billing(IGrainFactory grains, string slug) => grains.GetGrain<IBillingGrain>(slug);

        billing.MapGet("", async (string slug, HttpContext http, IGrainFactory grains) => Results.Ok(await Billing(grains, slug).GetStatus(http.Caller())))
            .Describe("getBillingStatus", "Plan, subscription, payment state and usage reporting lag")
            .Produces<BillingStatusView>().Refusals();

        billing.MapPost("/upgrade", async (string slug, HttpContext http, IGrainFactory grains) =>
            {
                var body = await JsonBody.ReadAsync(http.Request);
                var plan = body.String("plan", 32);
                if (body.Problem() is { } problem) return problem;
                return Results.Ok(await Billing(grains, slug).StartUpgrade(http.Caller(), plan!));
            })
            .Describe("startBillingUpgrade", "A Stripe Checkout (or portal) link to pay for a plan; the plan changes when Stripe confirms")
            .Takes<UpgradeRequest>().Produces<BillingUrlView>().Refusals();

        billing.MapPost("/portal", async (string slug, HttpContext http, IGrainFactory grains) => Results.Ok(await Billing(grains, slug).OpenPortal(http.Caller())))
            .Describe("openBillingPortal", "A Stripe Customer Portal link (cards, invoices, plan changes)")
            .Produces<BillingUrlView>().Refusals();

        billing.MapPost("/downgrade", async (string slug, HttpContext http, IGrainFactory grains) =>
                Results.Ok(await Billing(grains, slug).DowngradeAtPeriodEnd(http.Caller())))
            .Describe("downgradeAtPeriodEnd", "Back to the free plan when the paid period ends")
            .Produces<BillingStatusView>().Refusals();

        billing.MapGet("/invoices", async (string slug, int? limit, string? cursor, HttpContext http, IGrainFactory grains) =>
            {
                if (limit is < 1 or > 100) return JsonBody.FieldProblem("limit", "must be from 1 to 100");
                var invoices = await Billing(grains, slug).ListInvoices(http.Caller());
                var start = cursor is null ? 0 : invoices.ToList().FindIndex(i => i.Id == cursor) + 1;
                if (cursor is not null && start == 0) return JsonBody.FieldProblem("cursor", "must be the next_cursor of an earlier page");
                var page = invoices.Skip(start).Take(limit ?? 20).ToList();
                var next = start + page.Count < invoices.Count ? page[^1].Id : null;
                return Results.Ok(new InvoicePage(page, next));
            })
            .Describe("listInvoices", "Invoices Stripe reported, newest first, with their lines")
            .Produces<InvoicePage>().Refusals();

        billing.MapGet("/invoices/upcoming", async (string slug, HttpContext http, IGrainFactory grains) =>
                Results.Ok(await Billing(grains, slug).GetUpcomingInvoice(http.Caller())))
            .Describe("getUpcomingInvoice", "The next invoice, computed from this period's meters and the prices")
            .Produces<UpcomingInvoiceView>().Refusals();

        billing.MapGet("/invoices.csv", async (string slug, HttpContext http, IGrainFactory grains) =>
            {
                var csv = new StringBuilder("id,number,status,currency,amount_due,amount_paid,period_start,period_end,created\n");
                foreach (var i in await Billing(grains, slug).ListInvoices(http.Caller()))
                {
                    csv.Append(CultureInfo.InvariantCulture, $"{Csv(i.Id)},{Csv(i.Number)},{Csv(i.Status)},{Csv(i.Currency)},{Cents(i.AmountDue)},{Cents(i.AmountPaid)},{i.PeriodStart:yyyy-MM-dd},{i.PeriodEnd:yyyy-MM-dd},{i.Created:O}\n");
                }

                return Results.Text(csv.ToString(), "text/csv", Encoding.UTF8);
            })
            .Describe("exportInvoicesCsv", "Every invoice as CSV (amounts in the currency, two decimals)")
            .Produces<string>(StatusCodes.Status200OK, "text/csv").Refusals();

        billing.MapGet("/usage.csv", async (string slug, string? period, HttpContext http, IGrainFactory grains, TimeProvider clock) =>
            {
                period ??= BillingPeriods.Of(clock.GetUtcNow());
                if (!BillingPeriods.TryParse(period, out _)) return JsonBody.FieldProblem("period", "must be a month such as 2026-11 (YYYY-MM, years 2000 to 9998)");
                var report = await Billing(grains, slug).GetUsage(http.Caller(), period);
                var kinds = report.Totals.Keys.Order(StringComparer.Ordinal).ToList();
                var csv = new StringBuilder("date," + string.Join(',', kinds) + "\n");
                foreach (var day in report.Days)
                {
                    csv.Append(day.Date).Append(',').AppendJoin(',', kinds.Select(k => day.Totals.GetValueOrDefault(k).ToString(CultureInfo.InvariantCulture))).Append('\n');
                }

                return Results.Text(csv.ToString(), "text/csv", Encoding.UTF8);
            })
            .Describe("exportUsageCsv", "A period's usage per day and kind as CSV")
            .Produces<string>(StatusCodes.Status200OK, "text/csv").Refusals();
        return api;
    }

    private static async Task<IResult> ReceiveWebhookAsync(HttpContext http, IGrainFactory grains, BillingOptions options, TimeProvider clock)
    {
        if (!options.Enabled) return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "Billing is not enabled on this CloudDeck.");
        if (http.Request.Headers["Stripe-Signature"].ToString() is not { Length: > 0 } signature)
        {
            return JsonBody.FieldProblem("Stripe-Signature", "the header is required: Stripe signs every webhook (t=…,v1=…)");
        }

        if (http.Request.ContentLength > MaxWebhookBytes) return JsonBody.FieldProblem("body", $"must be at most {MaxWebhookBytes} bytes");
        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        if (body.Length > MaxWebhookBytes) return JsonBody.FieldProblem("body", $"must be at most {MaxWebhookBytes} bytes");

        BillingEvent stripeEvent;
        try
        {
            stripeEvent = StripeEvents.Verify(body, signature, options.WebhookSecret!, options.WebhookToleranceSeconds, clock.GetUtcNow());
        }
        catch (StripeGatewayException e)
        {
            return JsonBody.FieldProblem("Stripe-Signature", e.Message);
        }

        // Stripe retries anything but a 2xx: events for customers CloudDeck does not know are acknowledged and ignored.
        if (stripeEvent.CustomerId is not { } customer || await grains.GetGrain<IBillingCustomerGrain>(customer).GetOrganization() is not { } organization)
        {
            return Results.Ok(new WebhookAnswer(true, false, "no organization has this customer"));
        }

        var outcome = await grains.GetGrain<IBillingGrain>(organization).Apply(stripeEvent);
        return Results.Ok(new WebhookAnswer(true, outcome.Applied, outcome.Reason));
    }

    /// <summary>Beyond the group's 400, 401, 403 and 404: a state that does not allow it, and Stripe not answering.</summary>
    private static RouteHandlerBuilder Refusals(this RouteHandlerBuilder route) => route.Refuses(StatusCodes.Status409Conflict, StatusCodes.Status502BadGateway);

    private static string Csv(string? value) =>
        value is null ? "" : value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;

    private static string Cents(long cents) => (cents / 100m).ToString("0.00", CultureInfo.InvariantCulture);

    public sealed record UpgradeRequest(string Plan);

    public sealed record InvoicePage(IReadOnlyList<InvoiceView> Items, string? NextCursor);

    public sealed record WebhookAnswer(bool Received, bool Applied, string Reason);
}
