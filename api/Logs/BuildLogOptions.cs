using Microsoft.Extensions.Configuration;

namespace CloudDeck.Api.Logs;

/// <summary>Settings under <c>CloudDeck:Logs:*</c> for following build and runtime logs (SignalR hub and Server-Sent Events).</summary>
public sealed class BuildLogOptions
{
    public const string Section = "CloudDeck:Logs";

    /// <summary>How often a quiet Server-Sent Events stream sends a comment, so proxies do not close it as idle.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often a followed log checks again that its caller may still read it (still a member, session or API token not
    /// revoked); a follow whose access ended stops within about this long.
    /// </summary>
    public TimeSpan AccessCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Builds one hub connection may follow at once.</summary>
    public int MaxBuildsPerConnection { get; set; } = 20;

    /// <summary>Lines one read of the stored log takes (the plain-text download pages through it).</summary>
    public int ReadPageSize { get; set; } = 1000;

    public static BuildLogOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<BuildLogOptions>() ?? new();
        if (options.HeartbeatInterval < TimeSpan.FromMilliseconds(100) || options.HeartbeatInterval > TimeSpan.FromMinutes(10))
        {
            throw new InvalidOperationException($"{Section}:HeartbeatInterval must be between 00:00:00.1 and 00:10:00 (was {options.HeartbeatInterval}).");
        }

        if (options.AccessCheckInterval < TimeSpan.FromMilliseconds(100) || options.AccessCheckInterval > TimeSpan.FromMinutes(10))
        {
            throw new InvalidOperationException($"{Section}:AccessCheckInterval must be between 00:00:00.1 and 00:10:00, for example 00:00:05 (was {options.AccessCheckInterval}).");
        }

        if (options.MaxBuildsPerConnection is < 1 or > 1000)
        {
            throw new InvalidOperationException($"{Section}:MaxBuildsPerConnection must be 1–1000 (was {options.MaxBuildsPerConnection}).");
        }

        if (options.ReadPageSize is < 1 or > 10_000)
        {
            throw new InvalidOperationException($"{Section}:ReadPageSize must be 1–10000 (was {options.ReadPageSize}).");
        }

        return options;
    }
}
