using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;

namespace CloudDeck.Dashboard.Session;

/// <summary>
/// The dashboard's session: the API's tokens in one cookie that scripts cannot read (HttpOnly), sent on top-level
/// navigations but not on cross-site subrequests (SameSite=Lax), Secure when the request came over HTTPS, and encrypted
/// and authenticated with ASP.NET Data Protection so its content is neither readable nor forgeable in the browser.
/// </summary>
public sealed class SessionCookie(IDataProtectionProvider protection, TimeProvider clock)
{
    public const string Name = "cd_session";

    private readonly IDataProtector _protector = protection.CreateProtector("CloudDeck.Dashboard.Session.v1");

    public SessionTokens? Read(HttpRequest request)
    {
        if (!request.Cookies.TryGetValue(Name, out var value) || string.IsNullOrEmpty(value)) return null;
        try
        {
            var tokens = JsonSerializer.Deserialize<SessionTokens>(_protector.Unprotect(value));
            return tokens is null || tokens.RefreshTokenExpired(clock.GetUtcNow()) ? null : tokens;
        }
        catch (Exception e) when (e is CryptographicException or JsonException or FormatException)
        {
            // A cookie from another key ring, tampered with, or from an older format: no session.
            return null;
        }
    }

    public void Write(HttpResponse response, SessionTokens tokens) =>
        response.Cookies.Append(Name, _protector.Protect(JsonSerializer.Serialize(tokens)), Options(response.HttpContext.Request, tokens.RefreshTokenExpiresAt));

    public void Delete(HttpResponse response) => response.Cookies.Delete(Name, Options(response.HttpContext.Request, null));

    private static CookieOptions Options(HttpRequest request, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        Secure = request.IsHttps,
        SameSite = SameSiteMode.Lax,
        Path = "/",
        IsEssential = true,
        Expires = expires,
    };
}
