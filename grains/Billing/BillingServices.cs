using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Billing;

public static class BillingServices
{
    /// <summary>
    /// Billing settings (<c>CloudDeck:Billing:*</c>, validated now so a wrong one stops the process at start) and the
    /// Stripe gateway. Safe to call twice (the API in embedded mode and its silo).
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IServiceCollection AddCloudDeckBilling(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(s => s.ServiceType == typeof(BillingOptions))) return services;
        services.AddSingleton(BillingOptions.Read(configuration));
        services.AddHttpClient(nameof(StripeNetGateway), http => http.Timeout = TimeSpan.FromSeconds(30));
        services.TryAddSingleton<IStripeGateway>(provider => new StripeNetGateway(provider.GetRequiredService<BillingOptions>(),
            provider.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(StripeNetGateway))));
        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}
