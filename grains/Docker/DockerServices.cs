using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Docker;

public static class DockerServices
{
    /// <summary>dockerd for builds and servers: options read and validated now (a wrong one stops the start), a check at start.</summary>
    public static IServiceCollection AddCloudDeckDocker(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(DockerEngine))) return services;
        services.AddSingleton(DockerOptions.Read(configuration));
        services.AddSingleton<DockerEngine>();
        services.AddSingleton<IHostedService, DockerStartupReport>();
        return services;
    }
}

/// <summary>Says at start whether dockerd answers, so an operator learns it from the start log, not from the first failed build.</summary>
internal sealed partial class DockerStartupReport(DockerEngine docker, ILogger<DockerStartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(async () =>
        {
            if (await docker.UnavailableAsync(CancellationToken.None) is { } problem) LogUnavailable(problem);
            else LogReady(docker.Options.BuildNetwork, docker.Options.ServerNetwork, docker.UserDescription);
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Error, Message = "{Problem}: builds and server apps set to run in Docker will fail until it does")]
    private partial void LogUnavailable(string problem);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Tenant code set to run in Docker runs in containers (build network {BuildNetwork}, server network {ServerNetwork}, each as {User}, no capabilities)")]
    private partial void LogReady(string buildNetwork, string serverNetwork, string user);
}
