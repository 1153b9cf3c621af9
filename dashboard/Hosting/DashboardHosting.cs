using CloudDeck.Dashboard.Api;
using CloudDeck.Dashboard.Session;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CloudDeck.Dashboard.Hosting;

/// <summary>How a host serves the dashboard: services, the middleware ahead of its pages, and its endpoints at <c>/</c>.</summary>
public static class DashboardHosting
{
    public static bool IsEnabled(IConfiguration configuration) =>
        configuration.GetValue($"{DashboardOptions.Section}:Enabled", defaultValue: true);

    public static IServiceCollection AddCloudDeckDashboard(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DashboardOptions>, DashboardOptionsValidation>();
        var keys = configuration[$"{DashboardOptions.Section}:KeysDirectory"]
                   ?? Path.Combine(configuration["CloudDeck:DataDirectory"] ?? ".clouddeck", "dashboard-keys");
        services.AddDataProtection().SetApplicationName("CloudDeck.Dashboard").PersistKeysToFileSystem(new DirectoryInfo(keys));

        services.AddRazorComponents().AddInteractiveServerComponents();
        services.AddHttpContextAccessor();
        services.TryAddTimeProvider();
        services.AddSingleton<ApiAddress>();
        services.AddSingleton<SessionCookie>();
        services.AddScoped<DashboardSession>();
        services.AddTransient<SessionRefreshMiddleware>();
        services.AddTransient<SecurityHeadersMiddleware>();
        services.AddHttpClient(DashboardApi.HttpClientName, (provider, client) => client.BaseAddress = provider.GetRequiredService<ApiAddress>().Value);
        services.AddScoped(provider => new DashboardApi(
            provider.GetRequiredService<IHttpClientFactory>().CreateClient(DashboardApi.HttpClientName), provider.GetRequiredService<DashboardSession>()));
        return services;
    }

    /// <summary>After routing, authentication and authorization: the headers, anti-forgery, and a fresh session for a page.</summary>
    public static IApplicationBuilder UseCloudDeckDashboard(this IApplicationBuilder app)
    {
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseAntiforgery();
        app.UseWhen(IsDashboardRequest, dashboard => dashboard.UseMiddleware<SessionRefreshMiddleware>());
        return app;
    }

    public static IEndpointRouteBuilder MapCloudDeckDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapStaticAssets().Add(builder => builder.Metadata.Add(DashboardEndpointMetadata.Instance));
        endpoints.MapRazorComponents<App>()
            // Our own Content-Security-Policy says frame-ancestors 'none'; Blazor's would add a second, looser header.
            .AddInteractiveServerRenderMode(options => options.ContentSecurityFrameAncestorsPolicy = null)
            .Add(builder => builder.Metadata.Add(DashboardEndpointMetadata.Instance));
        return endpoints;
    }

    private static bool IsDashboardRequest(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<DashboardEndpointMetadata>() is not null;

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (services.All(d => d.ServiceType != typeof(TimeProvider))) services.AddSingleton(TimeProvider.System);
    }
}
