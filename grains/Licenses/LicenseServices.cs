using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Licenses;

public static class LicenseServices
{
    /// <summary>
    /// License settings (<c>CloudDeck:Licenses:*</c>) and the offline-license signing key, for the license grains and the
    /// API (which publishes the public key). Validates the settings and loads or creates the key now, so a wrong setting
    /// stops the process at start.
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IServiceCollection AddCloudDeckLicenses(this IServiceCollection services, IConfiguration configuration, string dataDirectory, bool cluster)
    {
        var options = LicenseOptions.Read(configuration);
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(LicenseSigningKey.Load(options, dataDirectory, cluster));
        return services;
    }
}
