namespace CloudDeck.GrainInterfaces.Limits;

/// <summary>
/// One rate limit for one subject, keyed by <see cref="RateLimitKeys.For"/> ("signup-address/203.0.113.7"): the
/// requests it let through in a sliding window, held in memory by the one activation the cluster has for the key, so
/// the limit holds whichever API process or silo the requests arrive at.
/// </summary>
[Alias("clouddeck.IRateLimitGrain")]
public interface IRateLimitGrain : IGrainWithStringKey
{
    /// <summary>
    /// Counts one request and answers zero when fewer than <paramref name="limit"/> were counted in the last
    /// <paramref name="window"/>; otherwise counts nothing and answers how long until one may pass.
    /// </summary>
    Task<TimeSpan> TryAcquire(int limit, TimeSpan window);
}

public static class RateLimitKeys
{
    /// <summary>The grain key of <paramref name="limit"/> (a fixed name such as "signup-address") for <paramref name="subject"/>.</summary>
    public static string For(string limit, string subject) => $"{limit}/{subject}";
}
