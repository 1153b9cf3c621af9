using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Accounts;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// Failed logins from one client address, in memory only: losing them with the activation costs an attacker's
/// victim nothing but a fresh window, and keeps every failed guess off the storage path.
/// </summary>
public sealed class LoginThrottleGrain(IOptions<AuthOptions> options, TimeProvider clock) : Grain, ILoginThrottleGrain
{
    private readonly FailureWindow _failures = new(options.Value.AddressFailureLimit, options.Value.FailureWindow);

    public Task<int> RetryAfterSeconds()
    {
        var wait = _failures.RetryAfter(clock.GetUtcNow());
        return Task.FromResult(wait > TimeSpan.Zero ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 0);
    }

    public Task RecordFailure()
    {
        _failures.Record(clock.GetUtcNow());
        return Task.CompletedTask;
    }
}
