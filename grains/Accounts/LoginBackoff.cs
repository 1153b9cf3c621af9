namespace CloudDeck.Grains.Accounts;

/// <summary>
/// Wrong passwords of one (account, client address) pair: the first <see cref="AuthOptions.LoginFailuresBeforeBackoff"/>
/// cost nothing, the one that reaches it makes the pair wait <see cref="AuthOptions.LoginBackoff"/>, and each failure
/// after that doubles the wait up to <see cref="AuthOptions.MaxLoginBackoff"/>. Once the wait is over and the pair
/// stays quiet for <see cref="AuthOptions.FailureWindow"/>, its failures are forgotten.
/// </summary>
public sealed class LoginBackoff
{
    private int _failures;
    private DateTimeOffset _lastFailure;
    private DateTimeOffset _waitEnds;

    public TimeSpan RetryAfter(DateTimeOffset now) => _waitEnds > now ? _waitEnds - now : TimeSpan.Zero;

    /// <summary>When nothing of this pair matters any more (the grain may drop it).</summary>
    public DateTimeOffset ForgottenAt(AuthOptions settings) => (_waitEnds > _lastFailure ? _waitEnds : _lastFailure) + settings.FailureWindow;

    public void Record(DateTimeOffset now, AuthOptions settings)
    {
        if (now >= ForgottenAt(settings)) _failures = 0;
        _failures++;
        _lastFailure = now;
        var beyond = _failures - settings.LoginFailuresBeforeBackoff;
        if (beyond < 0) return;
        // Doubling from the first wait; past 2^20 of it the cap has long been reached.
        var wait = settings.LoginBackoff.Ticks * Math.Pow(2, Math.Min(beyond, 20));
        _waitEnds = now + TimeSpan.FromTicks((long)Math.Min(wait, settings.MaxLoginBackoff.Ticks));
    }
}
