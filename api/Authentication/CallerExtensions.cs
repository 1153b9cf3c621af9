using System.Security.Claims;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;

namespace CloudDeck.Api.Authentication;

public static class CallerExtensions
{
    /// <summary>The authenticated caller, as grains see it.</summary>
    public static Caller Caller(this HttpContext http) => http.User.ToCaller(http.ClientAddress());

    /// <summary>The caller an authenticated principal stands for (also a hub connection's <c>Context.User</c>).</summary>
    public static Caller ToCaller(this ClaimsPrincipal user, string clientAddress)
    {
        var userId = user.FindFirstValue("sub") ?? throw new InvalidOperationException("The endpoint needs RequireAuthorization().");
        var email = user.FindFirstValue(AccessTokens.EmailClaim) ?? "";
        IReadOnlyList<string>? scopes = user.FindFirstValue(BearerSchemes.KindClaim) == BearerSchemes.ApiTokenKind
            ? [.. user.FindAll(BearerSchemes.ScopeClaim).Select(c => c.Value)]
            : null;
        return new Caller(userId, email, clientAddress, scopes, BearerSchemes.IsEmailVerified(user));
    }

    public static string ClientAddress(this HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
