namespace CloudDeck.Grains.Accounts;

/// <summary>Settings under <c>CloudDeck:Auth</c>. Every one has a default that works embedded.</summary>
public sealed class AuthOptions
{
    public const string Section = "CloudDeck:Auth";

    /// <summary>
    /// Base64 HMAC-SHA256 key (at least 32 bytes) that signs access tokens. When unset, one is generated on
    /// first start and kept in <c>{DataDirectory}/auth/jwt-signing.key</c> (mode 0600). Every API process of a
    /// cluster must share it.
    /// </summary>
    public string? SigningKey { get; set; }

    public string Issuer { get; set; } = "clouddeck";

    public string Audience { get; set; } = "clouddeck";

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a login's refresh tokens work, counted from the login: rotation does not extend it.</summary>
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(7);

    public TimeSpan MfaChallengeLifetime { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan EmailVerificationLifetime { get; set; } = TimeSpan.FromDays(2);

    public TimeSpan PasswordResetLifetime { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan InvitationLifetime { get; set; } = TimeSpan.FromDays(7);

    public int MinimumPasswordLength { get; set; } = 10;

    /// <summary>
    /// Wrong passwords for one account (or one email without an account) from one client address (an IPv6 client's
    /// /64) before that pair must wait: the first wait is <see cref="LoginBackoff"/>, and each further failure doubles
    /// it up to <see cref="MaxLoginBackoff"/>. Other addresses are not held back: a known email cannot be locked out.
    /// </summary>
    public int LoginFailuresBeforeBackoff { get; set; } = 5;

    public TimeSpan LoginBackoff { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan MaxLoginBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Wrong MFA codes (at login or to disable MFA) and wrong current passwords of a signed-in password change, per
    /// account from any address, within <see cref="FailureWindow"/> before it answers 429. Only someone who knows the
    /// password or holds a session gets this far, so counting them per account locks out no stranger's victim.
    /// </summary>
    public int AccountFailureLimit { get; set; } = 5;

    /// <summary>Failed logins per client address (an IPv6 client's /64) within <see cref="FailureWindow"/> before that address answers 429.</summary>
    public int AddressFailureLimit { get; set; } = 20;

    /// <summary>
    /// The sliding window of the per-account and per-address counts; also how long a (account, address) pair stays
    /// quiet after its wait before its failures are forgotten.
    /// </summary>
    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Where the links in verification, reset and invitation emails point.</summary>
    public string LinkBaseUrl { get; set; } = "http://localhost:8080";

    /// <summary>Log each queued email (recipient, kind, subject; never the body or its link).</summary>
    public bool LogOutbox { get; set; } = true;

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public void Validate()
    {
        if (SigningKey is not null)
        {
            byte[] key;
            try
            {
                key = Convert.FromBase64String(SigningKey);
            }
            catch (FormatException)
            {
                throw Invalid(nameof(SigningKey), "must be base64 (for example the output of `openssl rand -base64 32`)");
            }

            if (key.Length < 32)
            {
                throw Invalid(nameof(SigningKey), $"must decode to at least 32 bytes (was {key.Length})");
            }
        }

        RequireText(nameof(Issuer), Issuer);
        RequireText(nameof(Audience), Audience);
        RequirePositive(nameof(AccessTokenLifetime), AccessTokenLifetime);
        RequirePositive(nameof(RefreshTokenLifetime), RefreshTokenLifetime);
        RequirePositive(nameof(MfaChallengeLifetime), MfaChallengeLifetime);
        RequirePositive(nameof(EmailVerificationLifetime), EmailVerificationLifetime);
        RequirePositive(nameof(PasswordResetLifetime), PasswordResetLifetime);
        RequirePositive(nameof(InvitationLifetime), InvitationLifetime);
        RequirePositive(nameof(FailureWindow), FailureWindow);
        RequirePositive(nameof(LoginBackoff), LoginBackoff);
        RequirePositive(nameof(MaxLoginBackoff), MaxLoginBackoff);
        if (MaxLoginBackoff < LoginBackoff) throw Invalid(nameof(MaxLoginBackoff), $"must be at least LoginBackoff ({LoginBackoff}), such as 01:00:00");
        if (LoginFailuresBeforeBackoff < 1) throw Invalid(nameof(LoginFailuresBeforeBackoff), "must be at least 1");
        if (MinimumPasswordLength is < 8 or > 128) throw Invalid(nameof(MinimumPasswordLength), "must be between 8 and 128");
        if (AccountFailureLimit < 1) throw Invalid(nameof(AccountFailureLimit), "must be at least 1");
        if (AddressFailureLimit < 1) throw Invalid(nameof(AddressFailureLimit), "must be at least 1");
        if (!Uri.TryCreate(LinkBaseUrl, UriKind.Absolute, out var link) || link.Scheme is not ("http" or "https"))
        {
            throw Invalid(nameof(LinkBaseUrl), $"must be an absolute http(s) URL (was '{LinkBaseUrl}')");
        }
    }

    private static void RequireText(string name, string value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw Invalid(name, "must not be empty");
    }

    private static void RequirePositive(string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero) throw Invalid(name, $"must be a positive time span such as 00:15:00 (was {value})");
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}
