using System.Net.Http.Headers;
using System.Text.Json;
using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Api.Sso;

/// <summary>
/// GitHub's OAuth2 (or GitHub Enterprise's, by its endpoints): no ID token, so who signed in comes from the REST API with
/// the access token: <c>/user</c> for the stable numeric id and name, <c>/user/emails</c> for the primary address and
/// whether GitHub verified it.
/// </summary>
public sealed class GitHubSsoProvider(string name, SsoProviderOptions options, HttpClient http) : SsoProvider(name, options, http)
{
    public override Task<Uri> AuthorizationUrlAsync(string state, string nonce, string codeChallenge, string redirectUri, CancellationToken cancellationToken) =>
        Task.FromResult(WithQuery(Options.AuthorizationEndpoint,
        [
            new("client_id", Options.ClientId),
            new("redirect_uri", redirectUri),
            new("scope", Options.EffectiveScopes),
            new("state", state),
            new("code_challenge", codeChallenge),
            new("code_challenge_method", "S256"),
            new("allow_signup", "false"),
        ]));

    public override async Task<ExternalIdentity> CompleteAsync(string code, string codeVerifier, string nonce, string redirectUri, CancellationToken cancellationToken)
    {
        var answer = await RedeemCodeAsync(Options.TokenEndpoint, code, codeVerifier, redirectUri, basicAuthentication: false, cancellationToken);
        var accessToken = Text(answer, "access_token") ?? throw new SsoRefusedException($"The provider '{Name}' answered the code exchange without an access token.");

        var user = await ApiAsync("/user", accessToken, cancellationToken);
        if (user.ValueKind != JsonValueKind.Object || !user.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.Number)
        {
            throw new SsoRefusedException($"The provider '{Name}' answered /user without a numeric id.");
        }

        var emails = await ApiAsync("/user/emails", accessToken, cancellationToken);
        if (emails.ValueKind != JsonValueKind.Array) throw new SsoRefusedException($"The provider '{Name}' answered /user/emails with something other than a list.");
        var primary = emails.EnumerateArray().FirstOrDefault(e => e.ValueKind == JsonValueKind.Object
                                                                  && e.TryGetProperty("primary", out var p) && p.ValueKind == JsonValueKind.True);
        string? email = null;
        var verified = false;
        if (primary.ValueKind == JsonValueKind.Object)
        {
            email = Text(primary, "email");
            verified = primary.TryGetProperty("verified", out var v) && v.ValueKind == JsonValueKind.True;
        }

        // The numeric id, never the login: a login can be renamed and then taken by someone else.
        return new ExternalIdentity(Name, id.GetRawText(), email, verified, Text(user, "name") ?? Text(user, "login"));
    }

    private async Task<JsonElement> ApiAsync(string path, string accessToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Options.ApiBaseUrl.TrimEnd('/') + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
        // GitHub refuses API requests without a User-Agent.
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("CloudDeck", "1.0"));
        return await GetJsonAsync(request, path, cancellationToken);
    }
}
