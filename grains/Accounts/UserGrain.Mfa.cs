using System.Security.Cryptography;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Limits;

namespace CloudDeck.Grains.Accounts;

// TOTP MFA: enroll (a new key, shown once as an otpauth:// URI), confirm with a code (MFA is on and ten
// recovery codes are shown once), second login step, disable. The key is stored encrypted with the secrets key.
public sealed partial class UserGrain
{
    public const int RecoveryCodeCount = 10;
    private const string Issuer = "CloudDeck";

    /// <summary>
    /// An account stored before TOTP keys were encrypted has its key in clear: it is sealed now, in memory and in storage,
    /// so it is readable only with the secrets key from here on. Without a key (cluster mode unconfigured) it stays as it
    /// was and keeps working, to be sealed once a key is configured.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (User.TotpSecret is not { } clear || !secrets.IsAvailable) return;
        User.SealedTotpSecret = secrets.Encrypt(clear, TotpContext);
        User.TotpSecret = null;
        await state.WriteStateAsync(cancellationToken);
    }

    public async Task<MfaEnrollment> EnrollMfa(Caller caller)
    {
        RequireSession(caller);
        if (User.MfaEnabled) throw new ConflictException("MFA is already enabled; disable it first to enroll a new authenticator.");
        var key = RandomNumberGenerator.GetBytes(20);
        User.SealedTotpSecret = secrets.Encrypt(Totp.Base32Encode(key), TotpContext);
        User.TotpSecret = null;
        User.LastTotpStep = 0;
        await state.WriteStateAsync();
        return new MfaEnrollment(Totp.OtpAuthUri(Issuer, User.Email, key));
    }

    public async Task<RecoveryCodes> ConfirmMfa(Caller caller, string code)
    {
        RequireSession(caller);
        if (User.MfaEnabled) throw new ConflictException("MFA is already enabled.");
        if (TotpKey() is not { } key) throw new ConflictException("Enroll an authenticator first (POST /api/v1/me/mfa/enroll).");
        var step = Totp.Verify(key, code.Trim(), Now, User.LastTotpStep)
                   ?? throw new InvalidFieldException("code", "is not the authenticator's current code");
        var codes = Enumerable.Range(0, RecoveryCodeCount).Select(_ => NewRecoveryCode()).ToList();
        User.MfaEnabled = true;
        User.LastTotpStep = step;
        User.RecoveryCodeHashes = [.. codes.Select(c => Secrets.Hash(NormalizeRecoveryCode(c)))];
        await state.WriteStateAsync();
        return new RecoveryCodes(codes);
    }

    public async Task DisableMfa(Caller caller, string code)
    {
        RequireSession(caller);
        if (!User.MfaEnabled) throw new ConflictException("MFA is not enabled.");
        ThrowIfThrottled();
        if (!AcceptSecondFactor(code))
        {
            Failures.Record(Now);
            throw new InvalidFieldException("code", "is neither a current authenticator code nor an unused recovery code");
        }

        TurnOffMfa();
        await state.WriteStateAsync();
    }

    public async Task<LoginResult> CompleteMfaLogin(string challengeId, string challengeSecret, string code, string clientAddress)
    {
        var address = GrainFactory.GetGrain<ILoginThrottleGrain>(ClientAddresses.ThrottleKey(clientAddress));
        var wait = Max(Failures.RetryAfter(Now), TimeSpan.FromSeconds(await address.RetryAfterSeconds()));
        if (wait > TimeSpan.Zero) return LoginResult.Throttle(wait);

        var challenge = User.MfaChallenge;
        if (!User.MfaEnabled || !IsValid(challenge, challengeId, challengeSecret) || challenge!.ExpiresAt <= Now)
        {
            await address.RecordFailure();
            return LoginResult.Invalid;
        }

        if (!AcceptSecondFactor(code))
        {
            // The challenge stays, so a mistyped code can be retried until it expires or the throttle stops it.
            Failures.Record(Now);
            await address.RecordFailure();
            return LoginResult.Invalid;
        }

        User.MfaChallenge = null;
        var provider = User.MfaChallengeProvider;
        User.MfaChallengeProvider = null;
        // Both factors were right: now, and only now, the account's failed attempts are forgiven.
        Failures.Reset();
        return new LoginResult(LoginStatus.Succeeded, await StartSessionAsync(clientAddress, provider));
    }

    /// <summary>The caller writes state.</summary>
    private void TurnOffMfa()
    {
        User.MfaEnabled = false;
        User.TotpSecret = null;
        User.SealedTotpSecret = null;
        User.LastTotpStep = 0;
        User.RecoveryCodeHashes = [];
        User.MfaChallenge = null;
    }

    /// <summary>A current TOTP code (not replayed) or an unused recovery code, which is then spent. The caller writes state.</summary>
    private bool AcceptSecondFactor(string code)
    {
        code = code.Trim();
        if (TotpKey() is { } key && Totp.Verify(key, code, Now, User.LastTotpStep) is { } step)
        {
            User.LastTotpStep = step;
            return true;
        }

        var index = User.RecoveryCodeHashes.FindIndex(hash => Secrets.Matches(hash, NormalizeRecoveryCode(code)));
        if (index < 0) return false;
        User.RecoveryCodeHashes.RemoveAt(index);
        return true;
    }

    /// <summary>What the sealed key is bound to: this account, so a ciphertext copied into another account does not open there.</summary>
    private string TotpContext => UserId + "\ntotp";

    /// <summary>The enrolled TOTP key, or null; a key still in clear (not yet sealed) is read as it is.</summary>
    private byte[]? TotpKey() =>
        User.SealedTotpSecret is { } sealedKey ? Totp.Base32Decode(secrets.Decrypt(sealedKey, TotpContext))
        : User.TotpSecret is { } clear ? Totp.Base32Decode(clear)
        : null;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Ten base32 characters (50 bits) as <c>xxxxx-xxxxx</c>.</summary>
    private static string NewRecoveryCode()
    {
        var text = Totp.Base32Encode(RandomNumberGenerator.GetBytes(7))[..10].ToLowerInvariant();
        return $"{text[..5]}-{text[5..]}";
    }

    private static string NormalizeRecoveryCode(string code) => code.Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant();
}
