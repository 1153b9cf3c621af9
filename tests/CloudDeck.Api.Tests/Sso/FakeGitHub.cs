using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace CloudDeck.Api.Tests.Sso;

/// <summary>
/// A stand-in for GitHub (which these machines cannot reach), replaying the documented wire format of its OAuth app flow
/// and REST API: <c>/login/oauth/authorize</c> (approves at once for the login the test set), <c>/login/oauth/access_token</c>
/// (checks the client, the code, the redirect URI and the PKCE verifier), <c>/user</c> and <c>/user/emails</c>.
/// </summary>
public sealed class FakeGitHub : IAsyncDisposable
{
    public const string ClientId = "Iv1.fakegithubclient";
    public const string ClientSecret = "fake-github-client-secret";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, (GitHubUser User, string Challenge, string RedirectUri)> _codes = new();
    private readonly ConcurrentDictionary<string, GitHubUser> _tokens = new();

    public FakeGitHub(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        _app = builder.Build();
        BaseUrl = $"http://127.0.0.1:{port}";
        _app.MapGet("/login/oauth/authorize", (HttpContext http) =>
        {
            var query = http.Request.Query;
            if (query["client_id"] != ClientId || query["code_challenge_method"] != "S256") return Results.BadRequest();
            var code = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10));
            _codes[code] = (NextUser ?? throw new InvalidOperationException("The test set no user."), query["code_challenge"].ToString(), query["redirect_uri"].ToString());
            return Results.Redirect($"{query["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(query["state"].ToString())}");
        });
        _app.MapPost("/login/oauth/access_token", async (HttpContext http) =>
        {
            var form = await http.Request.ReadFormAsync();
            // GitHub answers 200 with an error member for a bad code.
            if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret) return Results.Json(new { error = "incorrect_client_credentials" });
            if (!_codes.TryRemove(form["code"].ToString(), out var grant) || grant.RedirectUri != form["redirect_uri"]) return Results.Json(new { error = "bad_verification_code" });
            var challenge = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            if (challenge != grant.Challenge) return Results.Json(new { error = "invalid_grant" });
            var token = "gho_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            _tokens[token] = grant.User;
            return Results.Json(new { access_token = token, token_type = "bearer", scope = "read:user,user:email" });
        });
        _app.MapGet("/user", (HttpContext http) => User(http) is { } user
            ? Results.Json(new { id = user.Id, login = user.Login, name = (string?)null })
            : Results.Json(new { message = "Bad credentials" }, statusCode: 401));
        _app.MapGet("/user/emails", (HttpContext http) => User(http) is { } user
            ? Results.Json(new object[]
            {
                new { email = $"{user.Login}@users.noreply.github.com", primary = false, verified = true, visibility = (string?)null },
                new { email = user.Email, primary = true, verified = user.Verified, visibility = "private" },
            })
            : Results.Json(new { message = "Bad credentials" }, statusCode: 401));
    }

    public string BaseUrl { get; }

    /// <summary>Who "approves" the next authorization.</summary>
    public GitHubUser? NextUser { get; set; }

    public Task StartAsync() => _app.StartAsync();

    public Dictionary<string, string?> Settings() => new()
    {
        ["CloudDeck:Auth:Oidc:Providers:github:Kind"] = "github-oauth2",
        ["CloudDeck:Auth:Oidc:Providers:github:ClientId"] = ClientId,
        ["CloudDeck:Auth:Oidc:Providers:github:ClientSecret"] = ClientSecret,
        ["CloudDeck:Auth:Oidc:Providers:github:AuthorizationEndpoint"] = $"{BaseUrl}/login/oauth/authorize",
        ["CloudDeck:Auth:Oidc:Providers:github:TokenEndpoint"] = $"{BaseUrl}/login/oauth/access_token",
        ["CloudDeck:Auth:Oidc:Providers:github:ApiBaseUrl"] = BaseUrl,
    };

    private GitHubUser? User(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(http.Request.Headers.UserAgent.ToString())) return null;
        return header.StartsWith("Bearer ", StringComparison.Ordinal) && _tokens.TryGetValue(header[7..], out var user) ? user : null;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed record GitHubUser(long Id, string Login, string Email, bool Verified);
