namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// Who is asking, as the API authenticated them. Grains decide what this caller may do.
/// <paramref name="Scopes"/> is null for an interactive session (everything the user's roles allow) and the
/// token's scopes for an API token. <paramref name="EmailVerified"/> is what the access token (or, for an API
/// token, the user grain) said when the request arrived; false unless someone proved it, so a caller built
/// without it is refused whatever needs a verified address.
/// </summary>
[GenerateSerializer, Immutable, Alias("clouddeck.Caller")]
public sealed record Caller(string UserId, string Email, string ClientAddress, IReadOnlyList<string>? Scopes = null, bool EmailVerified = false)
{
    /// <summary>
    /// Refusal for what an unverified address may not do (mint or use API tokens, accept invitations): until
    /// the mailbox is proven, the account may be a squatter's registration of someone else's address.
    /// </summary>
    public const string VerifyEmailFirst = "Verify your email first: open the link in the verification email we sent to this address.";

    /// <summary>For checks that read <see cref="EmailVerified"/>, which an access token fixes when it is issued.</summary>
    public const string VerifyEmailFirstThenRefresh =
        VerifyEmailFirst + " If you already did, refresh your access token (POST /api/v1/auth/refresh) or sign in again so that it says so.";

    public bool IsSession => Scopes is null;

    public bool HasScope(string scope) =>
        Scopes is null || Scopes.Contains(ApiTokenScopes.Admin) || Scopes.Contains(scope)
        || (scope == ApiTokenScopes.Read && Scopes.Contains(ApiTokenScopes.Deploy));
}

/// <summary>What an API token may do: <c>read</c> ⊂ <c>deploy</c> ⊂ <c>admin</c>.</summary>
public static class ApiTokenScopes
{
    public const string Read = "read";
    public const string Deploy = "deploy";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Read, Deploy, Admin];
}
