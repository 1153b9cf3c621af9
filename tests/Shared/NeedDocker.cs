namespace CloudDeck.Testing;

/// <summary>dockerd and the node test image (<see cref="NodeImage"/>), or Skip/Fail as <see cref="Need"/> does.</summary>
internal static class NeedDocker
{
    public static async Task<(DockerDaemon Daemon, string Image)> ImageAsync()
    {
        Need.Component(NodeImage.MissingReason);
        Need.Component(await DockerDaemon.MissingReasonAsync());
        var daemon = (await DockerDaemon.GetAsync())!;
        return (daemon, await NodeImage.EnsureAsync(daemon));
    }

    /// <summary>
    /// CloudDeck:Docker settings for a silo whose builds and servers use <paramref name="image"/> (for every framework and
    /// for git) on <paramref name="daemon"/>. The networks are the defaults, made once per dockerd and shared by the tests:
    /// each bridge network takes a subnet, and a dockerd has a few dozen.
    /// </summary>
    public static Dictionary<string, string?> Settings(DockerDaemon daemon, string image) => new()
    {
        ["CloudDeck:Docker:Endpoint"] = daemon.Endpoint,
        ["CloudDeck:Docker:Images:node"] = image,
        ["CloudDeck:Docker:Images:git"] = image,
        ["CloudDeck:Docker:PullImages"] = "false",
    };

    /// <summary>The same settings as environment variables of an API process.</summary>
    public static Dictionary<string, string?> Environment(DockerDaemon daemon, string image) =>
        Settings(daemon, image).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);
}
