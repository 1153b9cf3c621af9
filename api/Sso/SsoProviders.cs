namespace CloudDeck.Api.Sso;

/// <summary>The configured providers by name, made once at start from <see cref="SsoOptions"/>.</summary>
public sealed class SsoProviders
{
    public const string HttpClientName = "sso";

    private readonly Dictionary<string, SsoProvider> _providers;

    public SsoProviders(SsoOptions options, IHttpClientFactory clients)
    {
        Options = options;
        _providers = options.Providers.ToDictionary(
            p => p.Key,
            p =>
            {
                var http = clients.CreateClient(HttpClientName);
                return p.Value.Kind == SsoProviderOptions.GitHubKind
                    ? (SsoProvider)new GitHubSsoProvider(p.Key, p.Value, http)
                    : new OidcSsoProvider(p.Key, p.Value, http);
            },
            StringComparer.Ordinal);
    }

    public SsoOptions Options { get; }

    public IEnumerable<SsoProvider> All => _providers.Values.OrderBy(p => p.Name, StringComparer.Ordinal);

    public SsoProvider? Find(string? name) => name is not null && _providers.TryGetValue(name, out var provider) ? provider : null;
}

public static class SsoServices
{
    /// <summary>Reads and validates <c>CloudDeck:Auth:Oidc</c> now, so a wrong provider setting stops the process at start.</summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IServiceCollection AddCloudDeckSso(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(SsoOptions.Read(configuration));
        // Discovery documents, keys and user endpoints: a provider that hangs must not hold a sign-in forever.
        services.AddHttpClient(SsoProviders.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(15));
        services.AddSingleton<SsoProviders>();
        return services;
    }
}
