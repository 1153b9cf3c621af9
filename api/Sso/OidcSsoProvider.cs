using System.Net.Http.Headers;
using System.Text.Json;
using CloudDeck.GrainInterfaces.Accounts;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace CloudDeck.Api.Sso;

/// <summary>
/// An OpenID Connect provider: endpoints and signing keys from its discovery document (cached, refreshed when a token
/// names a key it lacks), authorization code with PKCE, and an ID token checked for signature, issuer, audience, expiry
/// and nonce before anything in it is believed.
/// </summary>
public sealed class OidcSsoProvider : SsoProvider
{
    /// <summary>Asymmetric only: a provider's HMAC would be keyed with our client secret, and <c>none</c> proves nothing.</summary>
    private static readonly string[] SigningAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    private readonly ConfigurationManager<OpenIdConnectConfiguration> _configuration;
    private readonly JsonWebTokenHandler _tokens = new() { MapInboundClaims = false };

    public OidcSsoProvider(string name, SsoProviderOptions options, HttpClient http) : base(name, options, http)
    {
        var issuer = new Uri(options.Issuer!);
        var metadata = options.Issuer!.TrimEnd('/') + "/.well-known/openid-configuration";
        _configuration = new ConfigurationManager<OpenIdConnectConfiguration>(metadata, new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever(http) { RequireHttps = !SsoProviderOptions.IsLoopback(issuer) });
    }

    public override async Task<Uri> AuthorizationUrlAsync(string state, string nonce, string codeChallenge, string redirectUri, CancellationToken cancellationToken)
    {
        var configuration = await DiscoverAsync(cancellationToken);
        return WithQuery(configuration.AuthorizationEndpoint,
        [
            new("response_type", "code"),
            new("client_id", Options.ClientId),
            new("redirect_uri", redirectUri),
            new("scope", Options.EffectiveScopes),
            new("state", state),
            new("nonce", nonce),
            new("code_challenge", codeChallenge),
            new("code_challenge_method", "S256"),
        ]);
    }

    public override async Task<ExternalIdentity> CompleteAsync(string code, string codeVerifier, string nonce, string redirectUri, CancellationToken cancellationToken)
    {
        var configuration = await DiscoverAsync(cancellationToken);
        var basic = configuration.TokenEndpointAuthMethodsSupported.Count == 0 || configuration.TokenEndpointAuthMethodsSupported.Contains("client_secret_basic");
        var answer = await RedeemCodeAsync(configuration.TokenEndpoint, code, codeVerifier, redirectUri, basic, cancellationToken);
        var idToken = Text(answer, "id_token") ?? throw new SsoRefusedException($"The provider '{Name}' answered the code exchange without an ID token.");
        var token = await ValidateIdTokenAsync(idToken, configuration, cancellationToken);

        if (!token.TryGetPayloadValue<string>("nonce", out var returnedNonce) || returnedNonce != nonce)
        {
            throw new SsoRefusedException($"The ID token from '{Name}' does not carry this sign-in's nonce.");
        }

        var subject = token.Subject;
        if (string.IsNullOrEmpty(subject)) throw new SsoRefusedException($"The ID token from '{Name}' has no subject.");
        var email = Claim(token, "email");
        var verified = IsTrue(token, "email_verified");
        var name = Claim(token, "name");
        if (email is null && Text(answer, "access_token") is { } accessToken && !string.IsNullOrEmpty(configuration.UserInfoEndpoint))
        {
            // Providers may keep scope claims out of the ID token when an access token can fetch them (oidc-provider does).
            var userInfo = await UserInfoAsync(configuration.UserInfoEndpoint, accessToken, cancellationToken);
            if (Text(userInfo, "sub") != subject) throw new SsoRefusedException($"The userinfo answer of '{Name}' is about another subject than its ID token.");
            email = Text(userInfo, "email");
            verified = userInfo.TryGetProperty("email_verified", out var flag) && (flag.ValueKind == JsonValueKind.True
                                                                                  || (flag.ValueKind == JsonValueKind.String && flag.GetString() == "true"));
            name ??= Text(userInfo, "name");
        }

        return new ExternalIdentity(Name, subject, email, verified, name);
    }

    private async Task<OpenIdConnectConfiguration> DiscoverAsync(CancellationToken cancellationToken)
    {
        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await _configuration.GetConfigurationAsync(cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            throw new SsoRefusedException($"The provider '{Name}' could not be discovered at its issuer: {e.Message}");
        }

        if (!string.Equals(configuration.Issuer?.TrimEnd('/'), Options.Issuer!.TrimEnd('/'), StringComparison.Ordinal))
        {
            // OpenID Connect Discovery §4.3: a document for another issuer must not be used.
            throw new SsoRefusedException($"The discovery document of '{Name}' names the issuer '{configuration.Issuer}', not the configured one.");
        }

        return configuration;
    }

    private async Task<JsonWebToken> ValidateIdTokenAsync(string idToken, OpenIdConnectConfiguration configuration, CancellationToken cancellationToken)
    {
        var result = await _tokens.ValidateTokenAsync(idToken, Parameters(configuration));
        if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // A key we have not seen: the provider may have rotated its keys since we read them. Read them again, once.
            _configuration.RequestRefresh();
            configuration = await DiscoverAsync(cancellationToken);
            result = await _tokens.ValidateTokenAsync(idToken, Parameters(configuration));
        }

        if (!result.IsValid)
        {
            throw new SsoRefusedException($"The ID token from '{Name}' is not valid: {Describe(result.Exception)}");
        }

        return (JsonWebToken)result.SecurityToken;
    }

    private TokenValidationParameters Parameters(OpenIdConnectConfiguration configuration) => new()
    {
        ValidIssuer = configuration.Issuer,
        ValidAudience = Options.ClientId,
        IssuerSigningKeys = configuration.SigningKeys,
        ValidAlgorithms = SigningAlgorithms,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateLifetime = true,
        ClockSkew = TimeSpan.FromMinutes(1),
    };

    private async Task<JsonElement> UserInfoAsync(string endpoint, string accessToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return await GetJsonAsync(request, "userinfo endpoint", cancellationToken);
    }

    private static string? Claim(JsonWebToken token, string name) => token.TryGetPayloadValue<string>(name, out var value) ? value : null;

    private static bool IsTrue(JsonWebToken token, string name) =>
        (token.TryGetPayloadValue<bool>(name, out var flag) && flag) || (token.TryGetPayloadValue<string>(name, out var text) && text == "true");

    /// <summary>Which check failed, in words that carry no part of the token.</summary>
    private static string Describe(Exception? failure) => failure switch
    {
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "its signature does not verify with the provider's keys",
        SecurityTokenInvalidIssuerException => "it was issued by another issuer",
        SecurityTokenInvalidAudienceException => "it was issued to another client",
        SecurityTokenExpiredException => "it has expired",
        SecurityTokenNoExpirationException => "it has no expiry",
        SecurityTokenInvalidAlgorithmException => "it is signed with an algorithm CloudDeck does not accept",
        SecurityTokenMalformedException => "it is malformed",
        _ => "it failed validation",
    };
}
