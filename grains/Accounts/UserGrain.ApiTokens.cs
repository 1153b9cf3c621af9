using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Grains.Accounts;

// API tokens for the CLI and CI: named, scoped, optionally expiring, shown once, stored as SHA-256.
public sealed partial class UserGrain
{
    public const int MaxApiTokens = 100;
    public const int MaxApiTokenNameLength = 100;

    public async Task<CreatedApiToken> CreateApiToken(Caller caller, CreateApiToken request)
    {
        RequireSelf(caller, ApiTokenScopes.Admin);
        // A token outlives the session that made it; an account that has not proven its address (perhaps
        // someone else's, registered first) must not leave one behind for after the owner takes it over.
        if (!User.EmailVerified) throw new ForbiddenException(Caller.VerifyEmailFirst);
        var name = request.Name.Trim();
        if (name.Length is 0 or > MaxApiTokenNameLength) throw new InvalidFieldException("name", $"must be 1–{MaxApiTokenNameLength} characters");
        if (request.Scopes.Count == 0 || request.Scopes.Any(s => !ApiTokenScopes.All.Contains(s)))
        {
            throw new InvalidFieldException("scopes", $"must be a non-empty list of {string.Join(", ", ApiTokenScopes.All)}");
        }

        // A token may not carry more than the session or token that creates it.
        if (request.Scopes.Any(s => !caller.HasScope(s))) throw new ForbiddenException("A token cannot grant scopes its creator lacks.");
        if (request.ExpiresAt is { } expires && expires <= Now) throw new InvalidFieldException("expires_at", "must be in the future");
        PruneApiTokens();
        if (User.ApiTokens.Count >= MaxApiTokens) throw new ConflictException($"An account holds at most {MaxApiTokens} API tokens; revoke one first.");

        var token = new SecretToken(SecretToken.ApiToken, UserId, Secrets.NewId(), Secrets.NewSecret());
        var record = new ApiTokenRecord
        {
            Id = token.Id,
            Name = name,
            Scopes = [.. request.Scopes.Distinct()],
            Hash = Secrets.Hash(token.Secret),
            CreatedAt = Now,
            ExpiresAt = request.ExpiresAt,
        };
        User.ApiTokens[record.Id] = record;
        await state.WriteStateAsync();
        return new CreatedApiToken(View(record), token.ToString());
    }

    public Task<IReadOnlyList<ApiTokenView>> ListApiTokens(Caller caller)
    {
        RequireSelf(caller, ApiTokenScopes.Read);
        IReadOnlyList<ApiTokenView> tokens = [.. User.ApiTokens.Values.OrderBy(t => t.CreatedAt).Select(View)];
        return Task.FromResult(tokens);
    }

    public async Task RevokeApiToken(Caller caller, string tokenId)
    {
        RequireSelf(caller, ApiTokenScopes.Admin);
        if (!User.ApiTokens.Remove(tokenId)) throw new NotFoundException("API token not found.");
        await state.WriteStateAsync();
    }

    public Task<ApiTokenIdentity?> AuthenticateApiToken(string tokenId, string secret)
    {
        if (!User.Registered || !User.ApiTokens.TryGetValue(tokenId, out var token) || !Secrets.Matches(token.Hash, secret)
            || token.ExpiresAt is { } expires && expires <= Now)
        {
            return Task.FromResult<ApiTokenIdentity?>(null);
        }

        // Kept in memory: it reaches storage with the next write or when the activation is deactivated.
        token.LastUsedAt = Now;
        // Verification is reported, not required, here: the API answers 403 "verify your email first" for
        // tokens that predate the rule, which a 401 (null) could not say.
        return Task.FromResult<ApiTokenIdentity?>(new ApiTokenIdentity(UserId, User.Email, [.. token.Scopes], User.EmailVerified));
    }

    public Task<bool> IsApiTokenActive(string tokenId) =>
        Task.FromResult(User.Registered && User.ApiTokens.TryGetValue(tokenId, out var token) && (token.ExpiresAt is not { } expires || expires > Now));

    private static ApiTokenView View(ApiTokenRecord token) =>
        new(token.Id, token.Name, [.. token.Scopes], token.CreatedAt, token.ExpiresAt, token.LastUsedAt);

    private void PruneApiTokens()
    {
        foreach (var expired in User.ApiTokens.Values.Where(t => t.ExpiresAt <= Now).Select(t => t.Id).ToList())
        {
            User.ApiTokens.Remove(expired);
        }
    }
}
