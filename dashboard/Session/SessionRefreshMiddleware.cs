using CloudDeck.Dashboard.Api;
using Microsoft.AspNetCore.Http;

namespace CloudDeck.Dashboard.Session;

/// <summary>
/// Before a dashboard page (or the live log's circuit) is served: an access token about to expire is exchanged for a
/// new pair with the refresh token and the cookie rewritten, so the page's API calls and the circuit use a live token.
/// A refresh the API refuses (logged out elsewhere, reused, expired) ends the session.
/// </summary>
internal sealed class SessionRefreshMiddleware(DashboardSession session, DashboardApi api, TimeProvider clock) : IMiddleware
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (session.Tokens is { } tokens && tokens.AccessTokenIsStale(clock.GetUtcNow()))
        {
            try
            {
                session.SignIn(SessionTokens.From(await api.RefreshAsync(tokens.RefreshToken, context.RequestAborted)));
            }
            catch (ApiProblem problem) when ((int)problem.Status is >= 400 and < 500)
            {
                session.SignOut();
            }
        }

        await next(context);
    }
}
