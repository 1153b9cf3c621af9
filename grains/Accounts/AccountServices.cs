using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CloudDeck.Grains.Accounts;

public static class AccountServices
{
    /// <summary>
    /// The services account and organization grains use (and the API, to validate access tokens), from
    /// <c>CloudDeck:Auth:*</c> and <c>CloudDeck:Accounts:*</c>. Validates the settings and loads or creates the signing key now, so a wrong
    /// setting stops the process at start.
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IServiceCollection AddCloudDeckAccounts(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        var auth = configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        auth.Validate();
        services.AddSingleton(Options.Create(auth));
        var limits = configuration.GetSection(AccountLimitOptions.Section).Get<AccountLimitOptions>() ?? new AccountLimitOptions();
        limits.Validate();
        services.AddSingleton(Options.Create(limits));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(SigningKey.Load(auth, dataDirectory));
        services.AddOptions<PasswordHasherOptions>();
        services.AddSingleton<Passwords>();
        services.AddSingleton<AccessTokens>();
        services.AddSingleton(OperatorOptions.Read(configuration));
        // Resolved on silos only (it needs the log store's record tables); the API process never asks for it.
        services.TryAddSingleton<Organizations.AuditTrail>();
        return services;
    }
}
