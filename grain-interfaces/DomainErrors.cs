using System.Globalization;

namespace CloudDeck.GrainInterfaces;

// Grain exceptions cross the wire with Orleans' serializer ([GenerateSerializer], fields by [Id]); each one also keeps
// everything the API needs in its message. None ever carries a secret.

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
    private const string Prefix = "Too many failed attempts; try again in ";

    public TooManyAttemptsException(TimeSpan wait) : this($"{Prefix}{Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} seconds.")
    {
    }

    /// <summary>Rebuilds the exception from its message on the caller's side of the wire.</summary>
    public TooManyAttemptsException(string message) : base(message)
    {
        var number = message.StartsWith(Prefix, StringComparison.Ordinal) ? message[Prefix.Length..].Split(' ')[0] : "";
        RetryAfterSeconds = int.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : 1;
    }

    [Id(0)]
    public int RetryAfterSeconds { get; }
}

/// <summary>A field the grain validated was wrong: HTTP 400 naming the field.</summary>
[GenerateSerializer, Alias("clouddeck.InvalidFieldException")]
public sealed class InvalidFieldException : Exception
{
    private const string Separator = ": ";

    public InvalidFieldException(string field, string problem) : base(field + Separator + problem)
    {
        Field = field;
        Problem = problem;
    }

    /// <summary>Rebuilds the exception from its message ("field: problem") on the caller's side of the wire.</summary>
    public InvalidFieldException(string message) : base(message)
    {
        var split = message.IndexOf(Separator, StringComparison.Ordinal);
        Field = split > 0 ? message[..split] : "request";
        Problem = split > 0 ? message[(split + Separator.Length)..] : message;
    }

    [Id(0)]
    public string Field { get; }

    [Id(1)]
    public string Problem { get; }
}

/// <summary>A rate limit (events or requests per second) was reached: HTTP 429 with Retry-After.</summary>
[GenerateSerializer, Alias("clouddeck.RateLimitedException")]
public sealed class RateLimitedException : Exception
{
    private const string Marker = "; retry in ";

    public RateLimitedException(string limit, TimeSpan wait)
        : this($"{limit}{Marker}{Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} seconds.")
    {
    }

    /// <summary>Rebuilds the exception from its message on the caller's side of the wire.</summary>
    public RateLimitedException(string message) : base(message)
    {
        var at = message.LastIndexOf(Marker, StringComparison.Ordinal);
        var number = at < 0 ? "" : message[(at + Marker.Length)..].Split(' ')[0];
        RetryAfterSeconds = int.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            ? seconds
            : 1;
    }

    [Id(0)]
    public int RetryAfterSeconds { get; }
}

/// <summary>
/// What a refused quota names: the limit (one of <c>QuotaLimits</c>), its current value, the plan's maximum and, for
/// counters of a period, when the period ends. Carried in the exception's message, which ends with a fixed tail
/// (<c>[limit=… current=… maximum=… resets_at=…]</c>) so the exception can be rebuilt on the caller's side of the wire.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.QuotaRefusal")]
public sealed record QuotaRefusal(string Limit, long Current, long Maximum, DateTimeOffset? ResetsAt)
{
    private const string TailStart = " [limit=";

    public string ToMessage(string text) =>
        $"{text}{TailStart}{Limit} current={Current.ToString(CultureInfo.InvariantCulture)} maximum={Maximum.ToString(CultureInfo.InvariantCulture)} " +
        $"resets_at={(ResetsAt is { } at ? at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) : "never")}]";

    /// <summary>Reads the tail <see cref="ToMessage"/> wrote; a message without one names an unknown limit.</summary>
    public static QuotaRefusal Parse(string message)
    {
        var start = message.LastIndexOf(TailStart, StringComparison.Ordinal);
        if (start < 0 || !message.EndsWith(']')) return new QuotaRefusal("unknown", 0, 0, null);
        var fields = message[(start + 2)..^1].Split(' ')
            .Select(pair => pair.Split('=', 2)).Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
        long Number(string key) => fields.TryGetValue(key, out var value)
            && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number : 0;
        DateTimeOffset? resetsAt = fields.TryGetValue("resets_at", out var text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        return new QuotaRefusal(fields.GetValueOrDefault("limit", "unknown"), Number("current"), Number("maximum"), resetsAt);
    }
}

/// <summary>
/// The organization's plan does not allow more of this (team members, projects, a month's build minutes or bandwidth):
/// HTTP 402, until the plan changes or the month ends.
/// </summary>
[GenerateSerializer, Alias("clouddeck.PlanLimitExceededException")]
public sealed class PlanLimitExceededException : Exception
{
    public PlanLimitExceededException(QuotaRefusal refusal, string text) : base(refusal.ToMessage(text)) => Refusal = refusal;

    /// <summary>Rebuilds the exception from its message on the caller's side of the wire.</summary>
    public PlanLimitExceededException(string message) : base(message) => Refusal = QuotaRefusal.Parse(message);

    [Id(0)]
    public QuotaRefusal Refusal { get; }
}

/// <summary>
/// A rate the plan allows is used up for now (builds or deployments today, concurrent builds): HTTP 429 with Retry-After,
/// until the day ends or a running build finishes.
/// </summary>
[GenerateSerializer, Alias("clouddeck.RateLimitExceededException")]
public sealed class RateLimitExceededException : Exception
{
    public RateLimitExceededException(QuotaRefusal refusal, string text) : base(refusal.ToMessage(text)) => Refusal = refusal;

    /// <summary>Rebuilds the exception from its message on the caller's side of the wire.</summary>
    public RateLimitExceededException(string message) : base(message) => Refusal = QuotaRefusal.Parse(message);

    [Id(0)]
    public QuotaRefusal Refusal { get; }
}
