using System.Security.Claims;
using System.Text.Json;
using Actors.Extensions.Streams;
using CloudDeck.Api.Authentication;
using CloudDeck.Api.Http;
using CloudDeck.Api.OpenApi;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Usage;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// Usage metering: SDKs report batches of events (<c>POST /api/v1/usage/events</c>), validated here and handed to the
/// ingest grain of the caller's credential (rate limit, authorization, the append); members read an organization's
/// usage per billing period from its meter grain.
/// </summary>
public static class UsageEndpoints
{
    public const int MaxEventIdLength = 128;
    public const long MaxQuantity = 1_000_000_000_000_000;

    private static readonly string[] EventFields = ["id", "kind", "quantity", "time"];

    public static RouteGroupBuilder MapUsageEndpoints(this RouteGroupBuilder api)
    {
        api.MapPost("/usage/events", IngestAsync).RequireAuthorization().WithTags("Usage")
            .Describe("reportUsage", "Report a batch of usage events for an organization", "Each event counts once by its id, however often it is sent.")
            .Takes<UsageEventsBody>().Answers<UsageIngestResult>(202).Refuses(400, 401, 403, 404, 429);

        api.MapGroup("/orgs/{slug}/usage").SignedIn().WithTags("Usage").Refuses(400, 404)
            .AddEndpointFilter(async (context, next) =>
                context.HttpContext.Request.RouteValues["slug"] is string slug && RouteValues.IsSlug(slug)
                    ? await next(context)
                    : JsonBody.FieldProblem("slug", RouteValues.SlugRule))
            .MapGet("", async (string slug, string? period, HttpContext http, IGrainFactory grains, TimeProvider clock) =>
            {
                period ??= BillingPeriods.Of(clock.GetUtcNow());
                if (!BillingPeriods.TryParse(period, out _)) return JsonBody.FieldProblem("period", "must be a month such as 2026-11 (YYYY-MM, years 2000 to 9998)");
                return Results.Ok(await grains.GetGrain<IUsageMeterGrain>(slug).Get(http.Caller(), period));
            })
                .Describe("getUsage", "An organization's usage in a billing period (?period=YYYY-MM, this month by default)").Answers<UsageReport>();
        return api;
    }

    private static async Task<IResult> IngestAsync(HttpContext http, IGrainFactory grains, UsageOptions options, TimeProvider clock)
    {
        var body = await JsonBody.ReadAsync(http.Request, options.MaxBodyBytes);
        var org = body.String("org", 40);
        if (org is not null && !RouteValues.IsSlug(org)) body.Fail("org", RouteValues.SlugRule);
        var array = body.Array("events", options.MaxBatchSize);
        var events = array is { } items ? ReadEvents(items, body, options, clock.GetUtcNow()) : [];
        if (body.Problem() is { } refused) return refused;

        var result = await grains.GetGrain<IUsageIngestGrain>(CredentialKey(http.User)).Ingest(http.Caller(), org!, events);
        return Results.Accepted(value: result);
    }

    /// <summary>Each event as <c>{id, kind, quantity, time}</c>; a bad one is named by its index (<c>events[3].kind</c>).</summary>
    private static List<UsageEvent> ReadEvents(JsonElement items, JsonBody body, UsageOptions options, DateTimeOffset now)
    {
        var events = new List<UsageEvent>(items.GetArrayLength());
        var index = 0;
        foreach (var item in items.EnumerateArray())
        {
            var at = $"events[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                body.Fail(at, "must be an object {id, kind, quantity, time}");
                continue;
            }

            body.RefuseUnknownMembers(item, at, EventFields);

            var id = item.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null;
            if (string.IsNullOrWhiteSpace(id) || id.Length > MaxEventIdLength || id.Any(char.IsControl))
            {
                body.Fail($"{at}.id", $"must be a string of 1–{MaxEventIdLength} characters without control characters (the event's idempotency id)");
                continue;
            }

            var kind = item.TryGetProperty("kind", out var kindValue) && kindValue.ValueKind == JsonValueKind.String ? kindValue.GetString() : null;
            if (!UsageKinds.IsValid(kind))
            {
                body.Fail($"{at}.kind", $"must be 1–64 characters: a lowercase letter, then lowercase letters, digits, '_', '.' or '-' (built in: {string.Join(", ", UsageKinds.BuiltIn)})");
                continue;
            }

            long quantity = 1;
            if (item.TryGetProperty("quantity", out var quantityValue) && quantityValue.ValueKind != JsonValueKind.Null
                && !(quantityValue.ValueKind == JsonValueKind.Number && quantityValue.TryGetInt64(out quantity) && quantity is >= 1 and <= MaxQuantity))
            {
                body.Fail($"{at}.quantity", $"must be a whole number from 1 to {MaxQuantity}");
                continue;
            }

            var time = now;
            if (item.TryGetProperty("time", out var timeValue) && timeValue.ValueKind != JsonValueKind.Null
                && !(timeValue.ValueKind == JsonValueKind.String && timeValue.TryGetDateTimeOffset(out time)))
            {
                body.Fail($"{at}.time", "must be an ISO 8601 date and time such as 2026-11-22T12:00:00Z");
                continue;
            }

            if (time < now - options.MaxEventAge || time > now + options.MaxClockSkew)
            {
                body.Fail($"{at}.time", $"must be within the last {options.MaxEventAge.TotalDays:0.##} days and not in the future");
                continue;
            }

            events.Add(new UsageEvent(id, kind!, quantity, time.ToUniversalTime()));
        }

        return events;
    }

    /// <summary>What the rate limit is counted by: the API token, or for a signed-in session the session.</summary>
    private static string CredentialKey(ClaimsPrincipal user)
    {
        var userId = user.FindFirstValue("sub") ?? "";
        return user.FindFirstValue(BearerSchemes.KindClaim) == BearerSchemes.ApiTokenKind
            ? $"token:{userId}.{user.FindFirstValue(BearerSchemes.TokenIdClaim)}"
            : $"session:{userId}.{user.FindFirstValue(AccessTokens.SessionClaim)}";
    }
}
