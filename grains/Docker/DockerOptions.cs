using System.Globalization;
using System.Text.RegularExpressions;
using CloudDeck.Grains.Builds.Executor;
using Microsoft.Extensions.Configuration;

namespace CloudDeck.Grains.Docker;

/// <summary>
/// Settings under <c>CloudDeck:Docker</c>: where dockerd is and how tenant containers are made. Used when
/// <c>CloudDeck:Builds:Executor</c> or <c>CloudDeck:Servers:Runtime</c> is <c>docker</c>; read and validated at start either way.
/// </summary>
public sealed partial class DockerOptions
{
    public const string Section = "CloudDeck:Docker";

    /// <summary>The Engine API: <c>unix:///var/run/docker.sock</c>, or <c>tcp://host:2375</c>. Bind mounts need dockerd on this machine.</summary>
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>
    /// The image each framework's builds and servers run in, by framework name (<see cref="Frameworks"/>); a framework not
    /// listed uses its family's: <c>node</c> (every JavaScript framework, static and other), <c>python</c> or <c>dotnet</c>.
    /// <c>git</c> is the image the source is cloned in.
    /// </summary>
    public Dictionary<string, string> Images { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        [Frameworks.Node] = "node:20",
        [Frameworks.Python] = "python:3.12",
        [Frameworks.DotNet] = "mcr.microsoft.com/dotnet/sdk:10.0",
        [GitImage] = "alpine/git:latest",
    };

    /// <summary>
    /// The network build containers join: a user-defined bridge network (created when missing) or <c>none</c> (no network:
    /// installs then need their dependencies in the source or the image). <c>host</c> is refused.
    /// </summary>
    public string BuildNetwork { get; set; } = "clouddeck-builds";

    /// <summary>The user-defined bridge network server containers join (created when missing); each publishes its port on the host.</summary>
    public string ServerNetwork { get; set; } = "clouddeck-servers";

    /// <summary>
    /// The first of the uids tenant containers run as when the platform runs as root: each container gets one of its own
    /// from <see cref="FirstUid"/>… (<see cref="UidCount"/> of them, gid = uid), held by the container's name on the Docker
    /// host, so silos sharing one dockerd never hand out the same uid twice at once. Otherwise containers run as the
    /// platform's own uid (it cannot hand files to another). Keep the range apart from CloudDeck:Sandbox's.
    /// </summary>
    public int FirstUid { get; set; } = 300_000;

    /// <summary>How many uids from <see cref="FirstUid"/> containers may run as; as many containers can run at once.</summary>
    public int UidCount { get; set; } = 10_000;

    /// <summary>Pull an image that dockerd does not have (false: such a build or server fails naming the image).</summary>
    public bool PullImages { get; set; } = true;

    /// <summary>The container's root file system is read-only (the work directories, HOME and /tmp stay writable).</summary>
    public bool ReadOnlyRootFilesystem { get; set; } = true;

    /// <summary>The size of each container's <c>/tmp</c> (a tmpfs, counted in its memory), in MiB.</summary>
    public int TmpSizeMb { get; set; } = 512;

    public const string GitImage = "git";

    /// <summary>The image for <paramref name="framework"/>: its own entry, else its family's.</summary>
    public string ImageFor(string? framework)
    {
        if (framework is not null && Images.TryGetValue(framework, out var own)) return own;
        var family = framework switch
        {
            Frameworks.Python => Frameworks.Python,
            Frameworks.DotNet => Frameworks.DotNet,
            _ => Frameworks.Node,
        };
        return Images[family];
    }

    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it and an example value.</exception>
    public static DockerOptions Read(IConfiguration configuration)
    {
        var options = new DockerOptions();
        try
        {
            configuration.GetSection(Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{Section} could not be read ({e.Message}).", e);
        }

        options.Validate();
        return options;
    }

    private void Validate()
    {
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("unix" or "tcp" or "http" or "https")
            || (endpoint.Scheme == "unix" && !endpoint.AbsolutePath.StartsWith('/')))
        {
            throw Invalid(nameof(Endpoint), $"must be a unix socket or tcp address, for example unix:///var/run/docker.sock (was '{Endpoint}')");
        }

        foreach (var (name, image) in Images)
        {
            if (string.IsNullOrWhiteSpace(image) || !ImageReference().IsMatch(image))
            {
                throw Invalid($"Images:{name}", $"must be an image reference such as node:20 (was '{image}')");
            }
        }

        foreach (var family in new[] { Frameworks.Node, Frameworks.Python, Frameworks.DotNet, GitImage })
        {
            if (!Images.ContainsKey(family)) throw Invalid($"Images:{family}", "must name an image");
        }

        CheckNetwork(nameof(BuildNetwork), BuildNetwork, allowNone: true);
        CheckNetwork(nameof(ServerNetwork), ServerNetwork, allowNone: false);
        if (FirstUid < 1000) throw Invalid(nameof(FirstUid), $"must be 1000 or more (a range no system account uses), for example 300000 (was {FirstUid})");
        if (UidCount < 1 || (long)FirstUid + UidCount > int.MaxValue)
        {
            throw Invalid(nameof(UidCount), $"must be at least 1 and keep FirstUid + UidCount below 2147483647, for example 10000 (was {UidCount})");
        }

        if (TmpSizeMb < 16) throw Invalid(nameof(TmpSizeMb), "must be at least 16, for example 512");
    }

    private static void CheckNetwork(string setting, string network, bool allowNone)
    {
        if (string.Equals(network, "host", StringComparison.OrdinalIgnoreCase))
        {
            throw Invalid(setting, "must not be host: a container on the host's network reaches every loopback service of the platform (the silo, PostgreSQL)");
        }

        if (string.Equals(network, "none", StringComparison.OrdinalIgnoreCase) && !allowNone)
        {
            throw Invalid(setting, "must be a bridge network the edge can reach through a published port, for example clouddeck-servers");
        }

        if (!NetworkName().IsMatch(network))
        {
            throw Invalid(setting, $"must be a network name of letters, digits, '.', '_' and '-', for example clouddeck-builds (was '{network}')");
        }
    }

    private static InvalidOperationException Invalid(string name, string problem) => new($"{Section}:{name} {problem}.");

    [GeneratedRegex(@"^[a-z0-9][A-Za-z0-9._\-/:@]*$")]
    private static partial Regex ImageReference();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
    private static partial Regex NetworkName();
}
