namespace CloudDeck.GrainInterfaces;

// Grain exceptions cross the wire as (type, message) and are rebuilt through their (string message)
// constructor, so each one keeps everything the API needs in its message. None ever carries a secret.

/// <summary>The thing does not exist, or the caller may not know it exists (another tenant's): HTTP 404.</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The caller is a member but their role or token scope does not allow this: HTTP 403.</summary>
public sealed class ForbiddenException(string message) : Exception(message);

/// <summary>The request contradicts current state (taken email or slug, last owner, MFA already on): HTTP 409.</summary>
public sealed class ConflictException(string message) : Exception(message);

/// <summary>A credential (password, code, refresh or one-time token) was refused: HTTP 401.</summary>
public sealed class UnauthenticatedException(string message) : Exception(message);

/// <summary>A one-time link was valid once but has expired or been used: HTTP 410.</summary>
public sealed class GoneException(string message) : Exception(message);

/// <summary>Too many failed attempts (passwords, MFA codes) for this account: HTTP 429 with Retry-After.</summary>
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

    public int RetryAfterSeconds { get; }
}

/// <summary>A field the grain validated was wrong: HTTP 400 naming the field.</summary>
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

    public string Field { get; }

    public string Problem { get; }
}

/// <summary>A rate limit (events or requests per second) was reached: HTTP 429 with Retry-After.</summary>
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

    public int RetryAfterSeconds { get; }
}
