using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Limits;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// Failed logins from one client address (an IPv6 client's /64) across every email, in memory only: losing them with
/// the activation costs an attacker's victim nothing but a fresh window, and keeps every failed guess off the storage path.
/// </summary>
public sealed class LoginThrottleGrain(IOptions<AuthOptions> options, TimeProvider clock) : Grain, ILoginThrottleGrain
{
    private readonly SlidingWindow _failures = new(options.Value.AddressFailureLimit, options.Value.FailureWindow);

    public Task<int> RetryAfterSeconds()
    {
        var wait = _failures.RetryAfter(clock.GetUtcNow());
        return Task.FromResult(wait > TimeSpan.Zero ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 0);
    }

    public Task RecordFailure()
    {
        _failures.Record(clock.GetUtcNow());
        // Orleans collects an idle activation sooner than the window ends, which would forget the failures with it.
        DelayDeactivation(options.Value.FailureWindow);
        return Task.CompletedTask;
    }
}
