using CloudDeck.Grains.Deployments;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CloudDeck.Grains.Projects;

/// <summary>Settings under <c>CloudDeck:Projects</c>.</summary>
public sealed class ProjectOptions
{
    public const string Section = "CloudDeck:Projects";

    /// <summary>
    /// Whether projects may build from a directory on the silo's disk (<c>local_path</c>). Off by default: a member
    /// could otherwise make the server read any directory it can.
    /// </summary>
    public bool AllowLocalSources { get; init; }

    public static ProjectOptions Read(IConfiguration configuration)
    {
        var text = configuration[$"{Section}:AllowLocalSources"];
        if (text is null) return new ProjectOptions();
        return bool.TryParse(text, out var allow)
            ? new ProjectOptions { AllowLocalSources = allow }
            : throw new InvalidOperationException($"{Section}:AllowLocalSources must be true or false (was '{text}').");
    }
}

public static class ProjectServices
{
    /// <summary>
    /// What project and deployment grains need: <c>CloudDeck:Projects:*</c>, the URL settings of the edge
    /// (<c>CloudDeck:Edge:*</c>) and the secrets key (<c>CloudDeck:Secrets:Key</c>, or generated once in embedded mode).
    /// Read and validated now, so a wrong setting stops the process at start.
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IServiceCollection AddCloudDeckProjects(this IServiceCollection services, IConfiguration configuration, string dataDirectory, bool cluster)
    {
        services.AddSingleton(ProjectOptions.Read(configuration));
        services.AddSingleton(EdgeUrlOptions.Read(configuration));
        services.AddSingleton(SecretsKey.Load(configuration[SecretsKey.Setting], dataDirectory, cluster));
        return services;
    }
}
