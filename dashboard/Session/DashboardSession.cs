using Microsoft.AspNetCore.Http;

namespace CloudDeck.Dashboard.Session;

/// <summary>
/// The signed-in user's tokens for this request (static rendering) or this circuit (the live log), read from the
/// session cookie. A circuit reads the cookie of the request that opened it; it never refreshes, since only an HTTP
/// answer can hand the browser a new cookie (and a refresh token is single-use).
/// </summary>
public sealed class DashboardSession(IHttpContextAccessor http, SessionCookie cookie)
{
    private SessionTokens? _tokens;
    private bool _read;

    public SessionTokens? Tokens
    {
        get
        {
            if (!_read && http.HttpContext is { } context)
            {
                _tokens = cookie.Read(context.Request);
                _read = true;
            }

            return _tokens;
        }
    }

    public bool IsSignedIn => Tokens is not null;

    /// <summary>Keeps <paramref name="tokens"/> for the rest of this request and in the browser's cookie.</summary>
    public void SignIn(SessionTokens tokens)
    {
        _tokens = tokens;
        _read = true;
        if (http.HttpContext is { Response.HasStarted: false } context) cookie.Write(context.Response, tokens);
    }

    public void SignOut()
    {
        _tokens = null;
        _read = true;
        if (http.HttpContext is { Response.HasStarted: false } context) cookie.Delete(context.Response);
    }
}
