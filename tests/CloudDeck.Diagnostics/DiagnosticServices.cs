using CloudDeck.Api.Endpoints;
using CloudDeck.Grains.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Serialization;

namespace CloudDeck.Diagnostics;

/// <summary>What a test host adds to CloudDeck's own hosts so the diagnostic grains and the /_diag endpoints exist.</summary>
public static class DiagnosticServices
{
    /// <summary>
    /// The diagnostic grains and their interfaces: Orleans finds only the assemblies the host's entry assembly references,
    /// and the shipped hosts do not reference this one. Silo and client alike (the client needs the proxies).
    /// </summary>
    public static IServiceCollection AddCloudDeckDiagnostics(this IServiceCollection services)
    {
        services.AddSerializer(serializer => serializer.AddAssembly(typeof(ProbeGrain).Assembly));
        services.TryAddSingleton<ActivationJournal>();
        return services;
    }

    /// <summary>The grains, and the API's <c>/_diag/*</c> endpoints in a branch of their own ahead of the API's pipeline.</summary>
    public static IServiceCollection AddCloudDeckDiagnosticEndpoints(this IServiceCollection services)
    {
        services.AddCloudDeckDiagnostics();
        services.AddSingleton<IStartupFilter, DiagnosticEndpointsFilter>();
        return services;
    }
}
