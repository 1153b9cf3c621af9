using Microsoft.AspNetCore.Mvc;

namespace CloudDeck.Api.OpenApi;

/// <summary>
/// A 400 as the document describes it: <c>errors</c> maps each bad field to its problems, and a refusal about one
/// field also names it in <c>field</c> (Http.JsonBody, Http.RequestBindingErrors write both).
/// </summary>
public sealed class ValidationProblem : HttpValidationProblemDetails
{
    /// <summary>The one field refused, when the refusal is about one (<c>email</c>, <c>events[3].kind</c>).</summary>
    public string? Field { get; init; }
}

/// <summary>
/// A 402 or 429 as the document describes it. A plan limit or rate (Http.DomainErrorFilter) adds what was refused:
/// <c>limit</c> (projects, deployments_per_day, …), <c>current</c>, <c>maximum</c> and, for a rate, <c>resets_at</c>;
/// other 429s (failed logins, per-address limits) carry only Retry-After.
/// </summary>
public sealed class QuotaProblem : ProblemDetails
{
    public string? Limit { get; init; }

    public long? Current { get; init; }

    public long? Maximum { get; init; }

    public DateTimeOffset? ResetsAt { get; init; }
}

/// <summary>
/// A refused <c>POST /licenses/consume</c> (403, or 429 past the daily quota) as LicenseEndpoints writes it: the
/// license's refusal, the quota counted (<c>limit</c> and <c>used</c> are numbers here) and when it resets.
/// </summary>
public sealed class LicenseRefusalProblem : ProblemDetails
{
    public string? Reason { get; init; }

    public string? Quota { get; init; }

    public long? Limit { get; init; }

    public long? Used { get; init; }

    public DateTimeOffset? ResetsAt { get; init; }
}
