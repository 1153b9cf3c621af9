using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CloudDeck.Grains.Sandbox;

/// <summary>The values of <c>CloudDeck:Builds:Isolation</c>.</summary>
public static class IsolationModes
{
    /// <summary>Sandbox every build and server where the machine can; where it cannot, run them unsandboxed and say so.</summary>
    public const string Sandbox = "sandbox";

    /// <summary>Sandbox every build and server; where the machine cannot, refuse to run them (the default in cluster mode).</summary>
    public const string Required = "required";

    /// <summary>The operator chose no sandbox: builds and servers run as the platform's own user, and every log says so.</summary>
    public const string None = "none";
}

/// <summary>
/// How tenant code is isolated: <c>CloudDeck:Builds:Isolation</c> (for builds and server apps alike) and the
/// <c>CloudDeck:Sandbox:*</c> settings of the bubblewrap sandbox (<see cref="SandboxRunner"/>).
/// </summary>
public sealed class SandboxOptions
{
    public const string Section = "CloudDeck:Sandbox";
    public const string IsolationSetting = "CloudDeck:Builds:Isolation";

    /// <summary><see cref="IsolationModes"/>: <c>sandbox</c> by default, <c>required</c> by default in cluster mode.</summary>
    public string Isolation { get; set; } = IsolationModes.Sandbox;

    /// <summary>The first uid (and gid) handed to a sandbox; each build and each server instance gets one of its own.</summary>
    public int FirstUid { get; set; } = 200_000;

    /// <summary>How many uids from <see cref="FirstUid"/> this silo may hand out (two silos on one machine need ranges apart).</summary>
    public int UidCount { get; set; } = 10_000;

    /// <summary>
    /// Directories outside <c>/usr</c> that toolchains live in (for example <c>/opt/node</c>), shown read-only inside every
    /// sandbox at the same path.
    /// </summary>
    public string[] ReadOnlyPaths { get; set; } = [];

    /// <summary>The bubblewrap binary; unset: <c>bwrap</c> from /usr/bin or /usr/local/bin.</summary>
    public string? BubblewrapPath { get; set; }

    /// <summary>The slirp4netns binary (the sandbox's egress-only network); unset: from /usr/bin or /usr/local/bin.</summary>
    public string? Slirp4netnsPath { get; set; }

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it and an example value.</exception>
    public static SandboxOptions Read(IConfiguration configuration)
    {
        var options = new SandboxOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        var cluster = string.Equals(configuration["CloudDeck:Cluster:Mode"], "Cluster", StringComparison.OrdinalIgnoreCase);
        var isolation = configuration[IsolationSetting];
        options.Isolation = string.IsNullOrWhiteSpace(isolation)
            ? cluster ? IsolationModes.Required : IsolationModes.Sandbox
            : isolation.Trim().ToLowerInvariant();
        if (options.Isolation is not (IsolationModes.Sandbox or IsolationModes.Required or IsolationModes.None))
        {
            throw new InvalidOperationException($"{IsolationSetting} must be sandbox, required or none (was '{isolation}'), for example CloudDeck__Builds__Isolation=required.");
        }

        if (options.FirstUid < 1000)
        {
            throw new InvalidOperationException($"{Section}:FirstUid must be at least 1000 and above every real user's uid, for example 200000.");
        }

        if (options.UidCount < 1 || (long)options.FirstUid + options.UidCount > int.MaxValue - 1)
        {
            throw new InvalidOperationException($"{Section}:UidCount must be at least 1 and keep the range below 2^31, for example 10000.");
        }

        // The Node.js installs builds may choose (CloudDeck:Builds:NodeInstalls) run inside the sandbox too.
        var nodeInstalls = configuration.GetSection("CloudDeck:Builds:NodeInstalls").GetChildren().Select(c => c.Value)
            .OfType<string>().Where(v => v.Length > 0 && !options.ReadOnlyPaths.Contains(v));
        options.ReadOnlyPaths = [.. options.ReadOnlyPaths, .. nodeInstalls];
        foreach (var path in options.ReadOnlyPaths)
        {
            if (!Path.IsPathRooted(path) || path.Split('/').Contains(".."))
            {
                throw new InvalidOperationException($"{Section}:ReadOnlyPaths entries must be absolute paths without '..', for example /opt/node (was '{path}').");
            }
        }

        return options;
    }
}

public static class SandboxServices
{
    /// <summary>The sandbox of a silo (shared by builds and server apps): options read and validated now, the probe at start.</summary>
    public static IServiceCollection AddCloudDeckSandbox(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(SandboxRunner))) return services;
        services.AddSingleton(SandboxOptions.Read(configuration));
        services.AddSingleton<SandboxRunner>();
        // With builds and server apps both in Docker no tenant code runs in the sandbox: its verdict at start would mislead.
        static bool InDocker(string? setting) => string.Equals(setting?.Trim(), "docker", StringComparison.OrdinalIgnoreCase);
        if (!InDocker(configuration["CloudDeck:Builds:Executor"]) || !InDocker(configuration["CloudDeck:Servers:Runtime"]))
        {
            services.AddSingleton<IHostedService, SandboxStartupReport>();
        }

        return services;
    }
}
