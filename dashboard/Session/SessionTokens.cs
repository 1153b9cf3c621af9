using CloudDeck.Dashboard.Api;

namespace CloudDeck.Dashboard.Session;

/// <summary>What the session cookie holds, encrypted: the API's access and refresh tokens and when each expires.</summary>
public sealed record SessionTokens(string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken, DateTimeOffset RefreshTokenExpiresAt)
{
    public static SessionTokens From(TokenPair pair) =>
        new(pair.AccessToken, pair.AccessTokenExpiresAt, pair.RefreshToken, pair.RefreshTokenExpiresAt);

    /// <summary>Refreshed a little before it expires, so a page's several API calls all use a live token.</summary>
    public bool AccessTokenIsStale(DateTimeOffset now) => AccessTokenExpiresAt - now < TimeSpan.FromSeconds(60);

    public bool RefreshTokenExpired(DateTimeOffset now) => RefreshTokenExpiresAt <= now;

    // Records print every member: keep the tokens out of any log line that prints one.
    public override string ToString() => $"SessionTokens {{ AccessTokenExpiresAt = {AccessTokenExpiresAt:O}, RefreshTokenExpiresAt = {RefreshTokenExpiresAt:O} }}";
}
