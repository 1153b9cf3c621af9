using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Notifications;

/// <summary>Settings under <c>CloudDeck:Notifications</c>: where webhooks may point and how their deliveries are retried.</summary>
public sealed class NotificationOptions
{
    public const string Section = "CloudDeck:Notifications";

    /// <summary>
    /// Whether webhook URLs may resolve to loopback, private, link-local or this machine's own addresses. Off by default:
    /// an admin could otherwise make the platform POST into its own network (a cloud metadata service, a database's
    /// HTTP port) and read the answer's status in the delivery log.
    /// </summary>
    public bool AllowPrivateWebhookTargets { get; set; }

    /// <summary>How long a delivery is retried before it fails for good (24 hours).</summary>
    public TimeSpan RetryWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The wait after a first failed attempt; each further failure doubles it, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Failed attempts in a row (over all of an endpoint's deliveries) after which the endpoint is disabled and its owners
    /// are emailed. 30 is about a day of one delivery's retries at the default delays.
    /// </summary>
    public int DisableAfterConsecutiveFailures { get; set; } = 30;

    /// <summary>How long one attempt may take, connection included; longer is a failed attempt.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it and shows an example.</exception>
    public static NotificationOptions Read(IConfiguration configuration)
    {
        var options = new NotificationOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        if (options.RetryWindow <= TimeSpan.Zero) throw Invalid(nameof(RetryWindow), "must be positive, for example 1.00:00:00");
        if (options.FirstRetryDelay <= TimeSpan.Zero) throw Invalid(nameof(FirstRetryDelay), "must be positive, for example 00:00:30");
        if (options.MaxRetryDelay < options.FirstRetryDelay) throw Invalid(nameof(MaxRetryDelay), "must be at least FirstRetryDelay, for example 01:00:00");
        if (options.DisableAfterConsecutiveFailures < 1) throw Invalid(nameof(DisableAfterConsecutiveFailures), "must be at least 1, for example 30");
        if (options.RequestTimeout <= TimeSpan.Zero || options.RequestTimeout > TimeSpan.FromMinutes(5))
        {
            throw Invalid(nameof(RequestTimeout), "must be from a moment to 5 minutes, for example 00:00:10");
        }

        return options;
    }

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1 after <paramref name="attempt"/> failed ones (from 1).</summary>
    public TimeSpan RetryDelay(int attempt)
    {
        var doubled = FirstRetryDelay.Ticks * Math.Pow(2, Math.Min(attempt - 1, 40));
        return doubled >= MaxRetryDelay.Ticks ? MaxRetryDelay : TimeSpan.FromTicks((long)doubled);
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}
