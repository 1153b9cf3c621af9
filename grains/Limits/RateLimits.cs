using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Limits;

namespace CloudDeck.Grains.Limits;

public static class RateLimits
{
    /// <summary>Counts one request against <paramref name="limit"/> for <paramref name="subject"/>; <paramref name="maximum"/> 0 is no limit.</summary>
    /// <param name="refusal">What the 429 says, e.g. "Too many sign-ups from this address".</param>
    /// <exception cref="RateLimitedException">The limit is reached; its wait is the Retry-After.</exception>
    public static async Task EnforceAsync(this IGrainFactory grains, string limit, string subject, int maximum, TimeSpan window, string refusal)
    {
        if (maximum <= 0) return;
        var wait = await grains.GetGrain<IRateLimitGrain>(RateLimitKeys.For(limit, subject)).TryAcquire(maximum, window);
        if (wait > TimeSpan.Zero) throw new RateLimitedException($"{refusal} (at most {maximum} in {Describe(window)})", wait);
    }

    private static string Describe(TimeSpan window) =>
        window.TotalHours >= 1 && window.TotalHours == Math.Floor(window.TotalHours) ? $"{window.TotalHours:0} h"
        : window.TotalMinutes >= 1 && window.TotalMinutes == Math.Floor(window.TotalMinutes) ? $"{window.TotalMinutes:0} min"
        : $"{window.TotalSeconds:0} s";
}
