using System.Security.Cryptography;
using System.Text;
using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Grains.Accounts;

/// <summary>
/// A sign-in with an identity provider while it is under way. In memory only: it lives minutes, and losing it (a silo
/// restart) costs the user a fresh attempt, never a wrong sign-in. Every step is once-only.
/// </summary>
public sealed class SsoAttemptGrain(TimeProvider clock) : Grain, ISsoAttemptGrain
{
    /// <summary>How long a client has to redeem a finished sign-in: it is waiting on its loopback port, so seconds suffice.</summary>
    public static readonly TimeSpan HandoffLifetime = TimeSpan.FromMinutes(2);

    private SsoAttempt? _attempt;
    private bool _taken;
    private LoginResult? _result;
    private string? _handoffHash;
    private DateTimeOffset _handoffExpiresAt;

    public Task Begin(SsoAttempt attempt)
    {
        if (_attempt is not null) throw new InvalidOperationException("This sign-in attempt has begun already.");
        _attempt = attempt;
        DelayDeactivation(attempt.ExpiresAt - clock.GetUtcNow() + HandoffLifetime);
        return Task.CompletedTask;
    }

    public Task<SsoAttempt?> Take()
    {
        if (_attempt is null || _taken || _attempt.ExpiresAt <= clock.GetUtcNow()) return Task.FromResult<SsoAttempt?>(null);
        _taken = true;
        return Task.FromResult<SsoAttempt?>(_attempt);
    }

    public Task<string> Hold(LoginResult result)
    {
        if (!_taken || _result is not null) throw new InvalidOperationException("Only a taken attempt's one result can be held.");
        _result = result;
        var secret = Secrets.NewSecret();
        _handoffHash = Secrets.Hash(secret);
        _handoffExpiresAt = clock.GetUtcNow() + HandoffLifetime;
        DelayDeactivation(HandoffLifetime);
        return Task.FromResult(secret);
    }

    public Task<LoginResult?> Redeem(string secret, string codeVerifier)
    {
        var result = _result;
        var matches = result is not null && _attempt is not null && _handoffExpiresAt > clock.GetUtcNow()
                      && Secrets.Matches(_handoffHash, secret) && ChallengeMatches(_attempt.ClientChallenge, codeVerifier);
        // One try: a wrong secret or verifier ends the handoff as a right one does.
        _result = null;
        _handoffHash = null;
        if (result is not null) DeactivateOnIdle();
        return Task.FromResult(matches ? result : null);
    }

    /// <summary>RFC 7636 S256: BASE64URL(SHA256(ASCII(verifier))) equals the challenge.</summary>
    private static bool ChallengeMatches(string challenge, string verifier)
    {
        var computed = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(challenge));
    }
}
