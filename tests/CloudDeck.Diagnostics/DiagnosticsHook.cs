namespace CloudDeck.Diagnostics;

/// <summary>
/// Loads the diagnostics into the CloudDeck processes a test starts (CloudDeck.Silo, CloudDeck.Api): the environment
/// makes .NET run <c>StartupHook</c> from this assembly before their Main, and the hook adds
/// <see cref="DiagnosticServices"/> when their host is built.
/// </summary>
public static class DiagnosticsHook
{
    public const string SiloApplication = "CloudDeck.Silo";
    public const string ApiApplication = "CloudDeck.Api";

    /// <summary>The variables to add to a silo's or API's environment.</summary>
    public static IReadOnlyDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>
    {
        ["DOTNET_STARTUP_HOOKS"] = typeof(DiagnosticsHook).Assembly.Location,
    };

    /// <summary>Adds <see cref="Environment"/> to a child process's environment.</summary>
    public static Dictionary<string, string?> WithDiagnostics(this Dictionary<string, string?> environment)
    {
        foreach (var (key, value) in Environment) environment[key] = value;
        return environment;
    }
}
