namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// Who an operator-configured identity provider says signed in, after the API checked its answer (an ID token's
/// signature, issuer, audience, expiry and nonce; or an OAuth2 provider's user and emails endpoints).
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.ExternalIdentity")]
public sealed record ExternalIdentity(
    [property: Id(0)] string Provider,
    [property: Id(1)] string Subject,
    [property: Id(2)] string? Email,
    [property: Id(3)] bool EmailVerified,
    [property: Id(4)] string? Name)
{
    /// <summary>The <see cref="IExternalIdentityGrain"/> key: provider names are configuration keys, so '/' never appears in one.</summary>
    public string Key => $"{Provider}/{Subject}";
}

[GenerateSerializer, Immutable, Alias("clouddeck.ExternalAccount")]
public sealed record ExternalAccount([property: Id(0)] string UserId, [property: Id(1)] bool Created);

/// <summary>
/// Keyed by <see cref="ExternalIdentity.Key"/>: which account (if any) one provider's subject is linked to. Sign-in with a
/// provider starts here, so two first sign-ins of one subject are serialized and link once.
/// </summary>
[Alias("clouddeck.IExternalIdentityGrain")]
public interface IExternalIdentityGrain : IGrainWithStringKey
{
    /// <summary>
    /// Signs the linked account in; with no link yet, links the account that owns the identity's email, or creates one,
    /// but only when the provider says the email is verified (<see cref="ForbiddenException"/> otherwise).
    /// </summary>
    Task<LoginResult> SignIn(ExternalIdentity identity, string clientAddress);
}

/// <summary>
/// One sign-in with a provider while it is under way, keyed by its random id (the OAuth2 <c>state</c>): what the API
/// must check when the provider sends the browser back, then the one-time handoff of its result to the client that
/// started it. Held in memory only: a lost activation costs the user a new attempt.
/// </summary>
[Alias("clouddeck.ISsoAttemptGrain")]
public interface ISsoAttemptGrain : IGrainWithStringKey
{
    Task Begin(SsoAttempt attempt);

    /// <summary>The attempt, once: a second call (a replayed callback) answers null, as does an unknown or expired one.</summary>
    Task<SsoAttempt?> Take();

    /// <summary>Keeps the sign-in's result for the client and answers the handoff secret it redeems it with.</summary>
    Task<string> Hold(LoginResult result);

    /// <summary>
    /// The held result, once, for the secret from <see cref="Hold"/> and the verifier whose S256 challenge started the
    /// attempt; null for anything else (and the result is gone after a wrong verifier, so it cannot be guessed at).
    /// </summary>
    Task<LoginResult?> Redeem(string secret, string codeVerifier);
}

/// <param name="Provider">The configured provider's name.</param>
/// <param name="Nonce">Sent in the authorization request; the ID token must carry it back.</param>
/// <param name="CodeVerifier">PKCE between the API and the provider.</param>
/// <param name="BrowserBindingHash">SHA-256 of the cookie set in the browser that started: the callback must come from it.</param>
/// <param name="ClientRedirect">The loopback URL of the client (<c>deck login --sso</c>) that receives the handoff code.</param>
/// <param name="ClientChallenge">The client's S256 PKCE challenge for the handoff code.</param>
[GenerateSerializer, Immutable, Alias("clouddeck.SsoAttempt")]
public sealed record SsoAttempt(
    [property: Id(0)] string Provider,
    [property: Id(1)] string Nonce,
    [property: Id(2)] string CodeVerifier,
    [property: Id(3)] string BrowserBindingHash,
    [property: Id(4)] string ClientRedirect,
    [property: Id(5)] string ClientChallenge,
    [property: Id(6)] DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"SsoAttempt {{ Provider = {Provider}, ExpiresAt = {ExpiresAt:O} }}";
}

public static class SsoAttemptIds
{
    /// <summary>32 lower-case hex digits: checked before GetGrain so a made-up state activates nothing.</summary>
    public static bool IsWellFormed(string? value) =>
        value is { Length: 32 } && value.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;
}
