using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CloudDeck.GrainInterfaces.Accounts;

namespace CloudDeck.Api.Sso;

/// <summary>One configured identity provider: where to send the browser, and how to turn the code it returns into who signed in.</summary>
public abstract class SsoProvider(string name, SsoProviderOptions options, HttpClient http)
{
    public string Name { get; } = name;

    public string Kind => Options.Kind;

    public string DisplayName => Options.DisplayName ?? Name;

    protected SsoProviderOptions Options { get; } = options;

    protected HttpClient Http { get; } = http;

    /// <param name="state">The attempt's id: the provider sends it back unchanged.</param>
    /// <param name="nonce">OpenID Connect: the ID token must carry it back.</param>
    /// <param name="codeChallenge">S256 of the attempt's PKCE verifier.</param>
    /// <exception cref="SsoRefusedException">The provider cannot be reached or described itself wrongly.</exception>
    public abstract Task<Uri> AuthorizationUrlAsync(string state, string nonce, string codeChallenge, string redirectUri, CancellationToken cancellationToken);

    /// <summary>Exchanges the code (with the PKCE verifier) and checks the provider's answer.</summary>
    /// <exception cref="SsoRefusedException">Anything in the answer is missing, unreadable or fails a check.</exception>
    public abstract Task<ExternalIdentity> CompleteAsync(string code, string codeVerifier, string nonce, string redirectUri, CancellationToken cancellationToken);

    protected static Uri WithQuery(string endpoint, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var query = string.Join('&', parameters.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        return new Uri(endpoint + (endpoint.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query);
    }

    /// <summary>POSTs the authorization-code grant and answers the token endpoint's JSON.</summary>
    protected async Task<JsonElement> RedeemCodeAsync(string tokenEndpoint, string code, string codeVerifier, string redirectUri, bool basicAuthentication,
        CancellationToken cancellationToken)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = redirectUri,
            ["code_verifier"] = codeVerifier,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenEndpoint);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (basicAuthentication)
        {
            // RFC 6749 §2.3.1: each part form-encoded before base64.
            var credentials = $"{Uri.EscapeDataString(Options.ClientId)}:{Uri.EscapeDataString(Options.ClientSecret)}";
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        }
        else
        {
            form["client_id"] = Options.ClientId;
            form["client_secret"] = Options.ClientSecret;
        }

        request.Content = new FormUrlEncodedContent(form);
        var answer = await GetJsonAsync(request, "token endpoint", cancellationToken);
        if (answer.ValueKind != JsonValueKind.Object) throw new SsoRefusedException($"The provider '{Name}' answered the code exchange with something other than a JSON object.");
        if (answer.TryGetProperty("error", out var error))
        {
            throw new SsoRefusedException($"The provider '{Name}' refused the code: {error}.");
        }

        return answer;
    }

    /// <summary>Sends the request and reads its JSON answer; a failure names the provider and the endpoint, never a secret.</summary>
    protected async Task<JsonElement> GetJsonAsync(HttpRequestMessage request, string what, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonElement json;
            try
            {
                json = JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                throw new SsoRefusedException($"The provider '{Name}' answered its {what} with {(int)response.StatusCode} and no JSON.");
            }

            if (!response.IsSuccessStatusCode && !(json.ValueKind == JsonValueKind.Object && json.TryGetProperty("error", out _)))
            {
                throw new SsoRefusedException($"The provider '{Name}' answered its {what} with {(int)response.StatusCode}.");
            }

            return json;
        }
        catch (HttpRequestException e)
        {
            throw new SsoRefusedException($"The provider '{Name}' could not be reached at its {what}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SsoRefusedException($"The provider '{Name}' did not answer its {what} in time.");
        }
    }

    protected static string? Text(JsonElement json, string property) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>A provider's answer failed a check, or the provider could not be asked: the sign-in is refused with this reason.</summary>
public sealed class SsoRefusedException(string message) : Exception(message);
