namespace CloudDeck.Grains.Docker;

/// <summary>
/// What every container of tenant code starts from: the machine's proxy settings (builds and apps may need them to
/// reach the network) and a home, a temp directory and a locale of its own. Nothing else of the silo's environment.
/// </summary>
internal static class ContainerEnvironment
{
    private static readonly string[] Inherited = ["http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"];

    public static Dictionary<string, string> Base(string home)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Inherited)
        {
            if (System.Environment.GetEnvironmentVariable(name) is { } value) environment[name] = value;
        }

        environment["HOME"] = home;
        environment["TMPDIR"] = "/tmp";
        environment["LANG"] = "C.UTF-8";
        return environment;
    }
}
