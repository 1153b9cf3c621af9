using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Api.Http;

/// <summary>Turns the grains' answers of refusal into ProblemDetails with the status each one means.</summary>
public sealed class DomainErrorFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (InvalidFieldException invalid)
        {
            return JsonBody.FieldProblem(invalid.Field, invalid.Problem);
        }
        catch (NotFoundException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: e.Message);
        }
        catch (ForbiddenException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: e.Message);
        }
        catch (ConflictException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: e.Message);
        }
        catch (UnauthenticatedException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Not authenticated", detail: e.Message);
        }
        catch (GoneException e)
        {
            return Results.Problem(statusCode: StatusCodes.Status410Gone, title: "Expired", detail: e.Message);
        }
        catch (PlanLimitExceededException e)
        {
            return QuotaProblem(StatusCodes.Status402PaymentRequired, "Plan limit reached", e.Message, e.Refusal);
        }
        catch (RateLimitExceededException e)
        {
            var now = context.HttpContext.RequestServices.GetService<TimeProvider>()?.GetUtcNow() ?? DateTimeOffset.UtcNow;
            var wait = e.Refusal.ResetsAt is { } resetsAt ? resetsAt - now : QuotaRetryAfterWithoutReset;
            context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return QuotaProblem(StatusCodes.Status429TooManyRequests, "Rate limit reached", e.Message, e.Refusal);
        }
        catch (TooManyAttemptsException e)
        {
            context.HttpContext.Response.Headers.RetryAfter = e.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many failed attempts", detail: e.Message);
        }
        catch (RateLimitedException e)
        {
            context.HttpContext.Response.Headers.RetryAfter = e.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Rate limit reached", detail: e.Message);
        }
    }

    /// <summary>Retry-After for a refusal with no period end (a full concurrent limit): when a slot frees is not known.</summary>
    private static readonly TimeSpan QuotaRetryAfterWithoutReset = TimeSpan.FromSeconds(30);

    /// <summary>The message for people, and the refusal's typed fields as extensions: limit, current, maximum, resets_at.</summary>
    private static IResult QuotaProblem(int status, string title, string message, QuotaRefusal refusal)
    {
        return Results.Problem(statusCode: status, title: title, detail: message, extensions: new Dictionary<string, object?>
        {
            ["limit"] = refusal.Limit,
            ["current"] = refusal.Current,
            ["maximum"] = refusal.Maximum,
            ["resets_at"] = refusal.ResetsAt,
        });
    }
}

/// <summary>Route values checked before they reach a grain key.</summary>
public static class RouteValues
{
    public static bool IsSlug(string value) =>
        value.Length is >= 3 and <= 40 && value.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
        && value[0] != '-' && value[^1] != '-';

    public static bool IsUserId(string value) => UserIds.IsWellFormed(value);

    public static bool IsId(string value) => value.Length == 16 && value.All(char.IsAsciiHexDigitLower);

    public const string SlugRule = "must be 3–40 lower-case letters, digits or '-', not starting or ending with '-'";
}
