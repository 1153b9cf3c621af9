using System.Net;

namespace CloudDeck.Api.Sso;

/// <summary>
/// <c>CloudDeck:Auth:Oidc</c>: the identity providers people may sign in with, each under
/// <c>Providers:&lt;name&gt;</c>. None by default. Read and validated at start: a wrong setting stops the process.
/// </summary>
public sealed class SsoOptions
{
    public const string Section = "CloudDeck:Auth:Oidc";

    /// <summary>How long a sign-in may take between leaving for the provider and coming back.</summary>
    public TimeSpan AttemptLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Sign-ins one client address may begin per minute (0: no limit). Each one holds an attempt in memory for
    /// <see cref="AttemptLifetime"/>, so an anonymous flood would otherwise pile them up.
    /// </summary>
    public int StartsPerMinutePerAddress { get; set; } = 20;

    public Dictionary<string, SsoProviderOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static SsoOptions Read(IConfiguration configuration)
    {
        var options = new SsoOptions();
        var section = configuration.GetSection(Section);
        if (section[nameof(AttemptLifetime)] is { } lifetime)
        {
            if (!TimeSpan.TryParse(lifetime, System.Globalization.CultureInfo.InvariantCulture, out var parsed) || parsed <= TimeSpan.Zero)
            {
                throw new InvalidOperationException($"{Section}:{nameof(AttemptLifetime)} must be a positive time span such as 00:10:00 (was '{lifetime}').");
            }

            options.AttemptLifetime = parsed;
        }

        if (section[nameof(StartsPerMinutePerAddress)] is { } starts)
        {
            if (!int.TryParse(starts, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var perMinute) || perMinute > 10_000)
            {
                throw new InvalidOperationException($"{Section}:{nameof(StartsPerMinutePerAddress)} must be a whole number from 0 (no limit) to 10000 (was '{starts}').");
            }

            options.StartsPerMinutePerAddress = perMinute;
        }

        foreach (var provider in section.GetSection(nameof(Providers)).GetChildren())
        {
            var settings = provider.Get<SsoProviderOptions>() ?? new SsoProviderOptions();
            settings.Validate(provider.Key);
            options.Providers[provider.Key] = settings;
        }

        return options;
    }
}

/// <summary>One provider, <c>CloudDeck:Auth:Oidc:Providers:&lt;name&gt;</c>.</summary>
public sealed class SsoProviderOptions
{
    public const string OidcKind = "oidc";
    public const string GitHubKind = "github-oauth2";

    /// <summary><c>oidc</c> (OpenID Connect, discovered from the issuer) or <c>github-oauth2</c> (GitHub's OAuth2 and REST API).</summary>
    public string Kind { get; set; } = OidcKind;

    /// <summary>What the sign-in page calls it; the provider's name when unset.</summary>
    public string? DisplayName { get; set; }

    /// <summary>OpenID Connect: the issuer URL; its <c>/.well-known/openid-configuration</c> names the endpoints and keys.</summary>
    public string? Issuer { get; set; }

    public string ClientId { get; set; } = "";

    /// <summary>Sent to the token endpoint only; never logged or answered.</summary>
    public string ClientSecret { get; set; } = "";

    /// <summary>Space-separated. Default <c>openid email profile</c> (oidc) or <c>read:user user:email</c> (github-oauth2).</summary>
    public string? Scopes { get; set; }

    /// <summary>github-oauth2: where people authorize CloudDeck (GitHub Enterprise: its own host).</summary>
    public string AuthorizationEndpoint { get; set; } = "https://github.com/login/oauth/authorize";

    /// <summary>github-oauth2: where the code is exchanged for an access token.</summary>
    public string TokenEndpoint { get; set; } = "https://github.com/login/oauth/access_token";

    /// <summary>github-oauth2: the REST API whose <c>/user</c> and <c>/user/emails</c> say who signed in.</summary>
    public string ApiBaseUrl { get; set; } = "https://api.github.com";

    public string EffectiveScopes => string.IsNullOrWhiteSpace(Scopes) ? (Kind == GitHubKind ? "read:user user:email" : "openid email profile") : Scopes.Trim();

    /// <summary>Provider names appear in URLs and organization settings: lower-case letters, digits and '-'.</summary>
    public static bool IsValidName(string name) =>
        name.Length is >= 1 and <= 32 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public void Validate(string name)
    {
        var prefix = $"{SsoOptions.Section}:Providers:{name}";
        if (!IsValidName(name)) throw new InvalidOperationException($"{prefix}: a provider's name must be 1 to 32 lower-case letters, digits or '-'.");
        if (Kind is not (OidcKind or GitHubKind)) throw new InvalidOperationException($"{prefix}:Kind must be '{OidcKind}' or '{GitHubKind}' (was '{Kind}').");
        if (string.IsNullOrWhiteSpace(ClientId)) throw new InvalidOperationException($"{prefix}:ClientId must be set.");
        if (string.IsNullOrWhiteSpace(ClientSecret)) throw new InvalidOperationException($"{prefix}:ClientSecret must be set.");
        if (Kind == OidcKind)
        {
            RequireUrl($"{prefix}:Issuer", Issuer);
            if (!EffectiveScopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("openid"))
            {
                throw new InvalidOperationException($"{prefix}:Scopes must include 'openid' (was '{Scopes}').");
            }
        }
        else
        {
            RequireUrl($"{prefix}:AuthorizationEndpoint", AuthorizationEndpoint);
            RequireUrl($"{prefix}:TokenEndpoint", TokenEndpoint);
            RequireUrl($"{prefix}:ApiBaseUrl", ApiBaseUrl);
        }
    }

    /// <summary>HTTPS, except on a loopback host (a provider on this machine, as in tests and development).</summary>
    public static bool IsAllowedUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri)));

    public static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static void RequireUrl(string setting, string? value)
    {
        if (!IsAllowedUrl(value)) throw new InvalidOperationException($"{setting} must be an https URL (http only on a loopback host); was '{value}'.");
    }
}
