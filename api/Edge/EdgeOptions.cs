using CloudDeck.GrainInterfaces.Deployments;

namespace CloudDeck.Api.Edge;

/// <summary>Settings under <c>CloudDeck:Edge</c>. Every one has a default that works on a laptop.</summary>
public sealed class EdgeOptions
{
    public const string Section = "CloudDeck:Edge";

    /// <summary>Deployments are served at <c>{id}.{BaseDomain}</c> and aliases under it; the bare domain is the API.</summary>
    public string BaseDomain { get; set; } = "localhost";

    /// <summary>Host names under the base domain that are the API, not a deployment (for example <c>api.deck.example.com</c>).</summary>
    public List<string> ApiHosts { get; set; } = [];

    /// <summary>Files up to this size are kept in memory (with their compressed forms); larger ones are sent from disk.</summary>
    public int MaxMemoryFileBytes { get; set; } = 1024 * 1024;

    /// <summary>The most bytes of file content (all encodings) kept in memory.</summary>
    public long MemoryCacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Deployments whose manifests are kept in memory.</summary>
    public int ManifestCacheSize { get; set; } = 1000;

    /// <summary>Host names whose answer (deployment or none) is kept in memory.</summary>
    public int AliasCacheSize { get; set; } = 100_000;

    /// <summary>
    /// How long a "nothing here" answer (an unknown host, a deployment id that does not exist or is not ready) is kept,
    /// so repeating it costs no grain call. An alias or deployment that appears in the meantime ends it at once (the
    /// alias change stream); the time bounds only what that stream could miss. Zero keeps none.
    /// </summary>
    public TimeSpan NegativeCacheTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deployment ids remembered as not serving (the alias cache holds unknown hosts within <see cref="AliasCacheSize"/>).</summary>
    public int NegativeCacheSize { get; set; } = 100_000;

    /// <summary>How long a proxied request may go without any activity (response headers, body bytes either way) before it is ended.</summary>
    public TimeSpan ProxyTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How long connecting to a server deployment's process may take.</summary>
    public TimeSpan ProxyConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The edge tells a server grain it had requests at most this often (it stops idle previews after a while).</summary>
    public TimeSpan ServerTouchInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static EdgeOptions Read(IConfiguration configuration)
    {
        var options = new EdgeOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        options.BaseDomain = options.BaseDomain.Trim().TrimEnd('.').ToLowerInvariant();
        if (!IsHostName(options.BaseDomain)) throw Invalid(nameof(BaseDomain), $"must be a host name such as localhost or deck.example.com (was '{options.BaseDomain}')");
        options.ApiHosts = [.. options.ApiHosts.Select(h => h.Trim().TrimEnd('.').ToLowerInvariant())];
        if (options.ApiHosts.FirstOrDefault(h => !IsHostName(h)) is { } bad) throw Invalid(nameof(ApiHosts), $"must list host names (not '{bad}')");
        if (options.MaxMemoryFileBytes < 0) throw Invalid(nameof(MaxMemoryFileBytes), "must not be negative");
        if (options.MemoryCacheBytes < 1) throw Invalid(nameof(MemoryCacheBytes), "must be positive");
        if (options.MemoryCacheBytes < options.MaxMemoryFileBytes) throw Invalid(nameof(MemoryCacheBytes), "must be at least MaxMemoryFileBytes");
        if (options.ManifestCacheSize < 1) throw Invalid(nameof(ManifestCacheSize), "must be at least 1");
        if (options.AliasCacheSize < 1) throw Invalid(nameof(AliasCacheSize), "must be at least 1");
        if (options.NegativeCacheTtl < TimeSpan.Zero) throw Invalid(nameof(NegativeCacheTtl), "must not be negative (for example 00:00:05; zero keeps no negative entries)");
        if (options.NegativeCacheSize < 1) throw Invalid(nameof(NegativeCacheSize), "must be at least 1");
        if (options.ProxyTimeout <= TimeSpan.Zero) throw Invalid(nameof(ProxyTimeout), "must be positive (for example 00:01:40)");
        if (options.ProxyConnectTimeout <= TimeSpan.Zero) throw Invalid(nameof(ProxyConnectTimeout), "must be positive (for example 00:00:05)");
        if (options.ServerTouchInterval <= TimeSpan.Zero) throw Invalid(nameof(ServerTouchInterval), "must be positive (for example 00:00:05)");
        return options;
    }

    public static bool IsHostName(string host) =>
        host.Length is > 0 and <= 253 && host.Split('.').All(label => label.Length is > 0 and <= Hostnames.MaxLabel
            && label.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyz0123456789-") < 0 && label[0] != '-' && label[^1] != '-');

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");
}

public static class EdgeServices
{
    /// <summary>The edge's settings (validated now, so a wrong one stops the process at start), caches and stream follower.</summary>
    public static IServiceCollection AddCloudDeckEdge(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(EdgeOptions.Read(configuration));
        services.AddSingleton<IManifestSource, GrainManifestSource>();
        services.AddSingleton<AliasCache>();
        services.AddHostedService(provider => provider.GetRequiredService<AliasCache>());
        services.AddSingleton<ManifestCache>();
        services.AddSingleton<FileCache>();
        services.AddHttpForwarder();
        services.AddSingleton<UpstreamForwarder>();
        services.AddSingleton<ServerEndpoints>();
        services.AddSingleton<ServerProxy>();
        services.AddSingleton(EdgeHttpsOptions.Read(configuration));
        services.AddSingleton<DomainTable>();
        services.AddHostedService(provider => provider.GetRequiredService<DomainTable>());
        services.AddSingleton<EdgeCertificates>();
        services.AddSingleton<CustomDomains>();
        services.AddSingleton<EdgeMiddleware>();
        return services;
    }

    /// <summary>Requests for a deployment's host are answered here; every other one goes on to the API.</summary>
    public static IApplicationBuilder UseCloudDeckEdge(this IApplicationBuilder app)
    {
        // The singleton is taken once here: UseMiddleware with an IMiddleware would fetch it through a service scope
        // created for every request, a cost each proxied request paid for nothing.
        var edge = app.ApplicationServices.GetRequiredService<EdgeMiddleware>();
        return app.Use(next => http => edge.InvokeAsync(http, next));
    }
}
