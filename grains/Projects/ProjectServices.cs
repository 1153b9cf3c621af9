using System.Net;
using CloudDeck.Grains.Deployments;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CloudDeck.Grains.Projects;

/// <summary>Settings under <c>CloudDeck:Projects</c>: where a project's source may come from.</summary>
public sealed class ProjectOptions
{
    public const string Section = "CloudDeck:Projects";

    /// <summary>
    /// Whether projects may build from a directory on the silo's disk (<c>local_path</c>). Off by default: a member
    /// could otherwise make the server read any directory it can.
    /// </summary>
    public bool AllowLocalSources { get; init; }

    /// <summary>
    /// Whether git URLs may point at non-public addresses (loopback, private, link-local, this machine's own…). Off by
    /// default: a member could otherwise make the platform connect to internal services and read the outcome in the log.
    /// </summary>
    public bool AllowPrivateGitHosts { get; init; }

    /// <summary>Host names (exactly, case-insensitive) whose git URLs may resolve anywhere, for a git server on the operator's own network.</summary>
    public IReadOnlyList<string> AllowedGitHostNames { get; init; } = [];

    /// <summary>Address ranges git URLs may resolve into although they are not public (<c>10.1.2.0/24</c>, <c>192.0.2.7/32</c>).</summary>
    public IReadOnlyList<IPNetwork> AllowedGitNetworks { get; init; } = [];

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it and shows an example.</exception>
    public static ProjectOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var (names, networks) = ReadAllowedGitHosts(section.GetSection("AllowedGitHosts"));
        return new ProjectOptions
        {
            AllowLocalSources = Flag(section, "AllowLocalSources"),
            AllowPrivateGitHosts = Flag(section, "AllowPrivateGitHosts"),
            AllowedGitHostNames = names,
            AllowedGitNetworks = networks,
        };
    }

    private static bool Flag(IConfigurationSection section, string name)
    {
        var text = section[name];
        if (text is null) return false;
        return bool.TryParse(text, out var value) ? value : throw new InvalidOperationException($"{Section}:{name} must be true or false (was '{text}').");
    }

    /// <summary>A list (<c>AllowedGitHosts:0</c>, <c>:1</c>…) or one comma-separated value, of host names and CIDR ranges.</summary>
    private static (List<string> Names, List<IPNetwork> Networks) ReadAllowedGitHosts(IConfigurationSection section)
    {
        var entries = section.Value is { } single ? single.Split(',') : section.GetChildren().Select(c => c.Value ?? "");
        List<string> names = [];
        List<IPNetwork> networks = [];
        foreach (var entry in entries.Select(e => e.Trim()).Where(e => e.Length > 0))
        {
            if (entry.Contains('/'))
            {
                if (!IPNetwork.TryParse(entry, out var network))
                {
                    throw new InvalidOperationException($"{Section}:AllowedGitHosts: '{entry}' is not a CIDR range (for example 10.1.2.0/24 or fd00:1::/64).");
                }

                networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                networks.Add(new IPNetwork(address, address.GetAddressBytes().Length * 8));
            }
            else if (Uri.CheckHostName(entry) == UriHostNameType.Dns && !entry.EndsWith('.'))
            {
                names.Add(entry.ToLowerInvariant());
            }
            else
            {
                throw new InvalidOperationException($"{Section}:AllowedGitHosts: '{entry}' is neither a host name (git.internal.example) nor a CIDR range (10.1.2.0/24).");
            }
        }

        return (names, networks);
    }
}

public static class ProjectServices
{
    /// <summary>
    /// What project and deployment grains need: <c>CloudDeck:Projects:*</c>, the URL settings of the edge
    /// (<c>CloudDeck:Edge:*</c>), the secrets key (<c>CloudDeck:Secrets:Key</c>, or generated once in embedded mode) and the
    /// git host policy (which uses a <see cref="GitHostResolver"/> when one is registered, else the system's resolver).
    /// Read and validated now, so a wrong setting stops the process at start.
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IServiceCollection AddCloudDeckProjects(this IServiceCollection services, IConfiguration configuration, string dataDirectory, bool cluster)
    {
        services.AddSingleton(ProjectOptions.Read(configuration));
        services.AddSingleton(EdgeUrlOptions.Read(configuration));
        services.AddSingleton(SecretsKey.Load(configuration[SecretsKey.Setting], dataDirectory, cluster));
        services.AddSingleton(provider => new GitHostPolicy(provider.GetRequiredService<ProjectOptions>(), provider.GetService<GitHostResolver>()));
        // Resolved on silos only (it needs the log store's record tables).
        services.TryAddSingleton<ProjectHistory>();
        return services;
    }
}
