namespace CloudDeck.GrainInterfaces;

// Grain exceptions cross the wire with Orleans' serializer ([GenerateSerializer], fields by [Id]): what the API answers
// with (a field, a limit, a wait) is a typed field of the exception, never read back out of its message. None ever
// carries a secret.

/// <summary>The thing does not exist, or the caller may not know it exists (another tenant's): HTTP 404.</summary>
[GenerateSerializer, Alias("clouddeck.NotFoundException")]
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The caller is a member but their role or token scope does not allow this: HTTP 403.</summary>
[GenerateSerializer, Alias("clouddeck.ForbiddenException")]
public sealed class ForbiddenException(string message) : Exception(message);

/// <summary>The request contradicts current state (taken email or slug, last owner, MFA already on): HTTP 409.</summary>
[GenerateSerializer, Alias("clouddeck.ConflictException")]
public sealed class ConflictException(string message) : Exception(message);

/// <summary>A credential (password, code, refresh or one-time token) was refused: HTTP 401.</summary>
[GenerateSerializer, Alias("clouddeck.UnauthenticatedException")]
public sealed class UnauthenticatedException(string message) : Exception(message);

/// <summary>A one-time link was valid once but has expired or been used: HTTP 410.</summary>
[GenerateSerializer, Alias("clouddeck.GoneException")]
public sealed class GoneException(string message) : Exception(message);

/// <summary>Too many failed attempts (passwords, MFA codes) for this account: HTTP 429 with Retry-After.</summary>
[GenerateSerializer, Alias("clouddeck.TooManyAttemptsException")]
public sealed class TooManyAttemptsException : Exception
{
    public TooManyAttemptsException(TimeSpan wait) : this(WholeSeconds(wait))
    {
    }

    private TooManyAttemptsException(int seconds) : base($"Too many failed attempts; try again in {seconds} seconds.") => RetryAfterSeconds = seconds;

    [Id(0)]
    public int RetryAfterSeconds { get; }

    internal static int WholeSeconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}

/// <summary>A field the grain validated was wrong: HTTP 400 naming the field.</summary>
[GenerateSerializer, Alias("clouddeck.InvalidFieldException")]
public sealed class InvalidFieldException(string field, string problem) : Exception(field + ": " + problem)
{
    [Id(0)]
    public string Field { get; } = field;

    [Id(1)]
    public string Problem { get; } = problem;
}

/// <summary>A rate limit (events or requests per second) was reached: HTTP 429 with Retry-After.</summary>
[GenerateSerializer, Alias("clouddeck.RateLimitedException")]
public sealed class RateLimitedException : Exception
{
    public RateLimitedException(string limit, TimeSpan wait) : this(limit, TooManyAttemptsException.WholeSeconds(wait))
    {
    }

    private RateLimitedException(string limit, int seconds) : base($"{limit}; retry in {seconds} seconds.") => RetryAfterSeconds = seconds;

    [Id(0)]
    public int RetryAfterSeconds { get; }
}

/// <summary>
/// What a refused quota names: the limit (one of <c>QuotaLimits</c>), its current value, the plan's maximum and, for
/// counters of a period, when the period ends. It crosses the wire as the exception's own field, and the API answers it
/// as ProblemDetails properties (limit, current, maximum, resets_at); the message is text for people only.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.QuotaRefusal")]
public sealed record QuotaRefusal(string Limit, long Current, long Maximum, DateTimeOffset? ResetsAt);

/// <summary>
/// The organization's plan does not allow more of this (team members, projects, a month's build minutes or bandwidth):
/// HTTP 402, until the plan changes or the month ends.
/// </summary>
[GenerateSerializer, Alias("clouddeck.PlanLimitExceededException")]
public sealed class PlanLimitExceededException(QuotaRefusal refusal, string text) : Exception(text)
{
    [Id(0)]
    public QuotaRefusal Refusal { get; } = refusal;
}

/// <summary>
/// A rate the plan allows is used up for now (builds or deployments today, concurrent builds): HTTP 429 with Retry-After,
/// until the day ends or a running build finishes.
/// </summary>
[GenerateSerializer, Alias("clouddeck.RateLimitExceededException")]
public sealed class RateLimitExceededException(QuotaRefusal refusal, string text) : Exception(text)
{
    [Id(0)]
    public QuotaRefusal Refusal { get; } = refusal;
}
