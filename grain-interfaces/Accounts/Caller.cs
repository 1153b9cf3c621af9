namespace CloudDeck.GrainInterfaces.Accounts;

/// <summary>
/// Who is asking, as the API authenticated them. Grains decide what this caller may do.
/// <paramref name="Scopes"/> is null for an interactive session (everything the user's roles allow) and the
/// token's scopes for an API token.
/// </summary>
public sealed record Caller(string UserId, string Email, string ClientAddress, IReadOnlyList<string>? Scopes = null)
{
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
