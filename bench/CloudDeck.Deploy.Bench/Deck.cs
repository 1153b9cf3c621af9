using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// The built <c>deck</c> (cli/bin/Release/…/deck.dll) run as a process with its own config directory, as a user runs it:
/// none of the developer's ~/.config/clouddeck or CLOUDDECK_* variables reach it.
/// </summary>
internal sealed class Deck(ApiServer api, string configDirectory, string? dll = null)
{
    /// <summary>The build's deck by default; <c>--deck path/deck.dll</c> measures another (a ReadyToRun publish, say).</summary>
    private readonly string _dll = dll ?? RepoPaths.ProjectOutput("cli", "deck");

    public string Api => api.BaseAddress.ToString();

    public Task<TimedRun> RunAsync(string directory, params string[] args) => RunWithInputAsync(directory, null, args);

    public async Task<TimedRun> RunWithInputAsync(string directory, string? stdin, params string[] args)
    {
        if (!File.Exists(_dll)) throw new FileNotFoundException($"{_dll} is missing: build cli/CloudDeck.Cli.csproj in Release.", _dll);
        return await TimedProcess.RunAsync(RepoPaths.DotnetHost, [_dll, .. args], directory, new Dictionary<string, string?>
        {
            ["CLOUDDECK_API"] = null,
            ["CLOUDDECK_TOKEN"] = null,
            ["CLOUDDECK_PASSWORD"] = null,
            ["CLOUDDECK_CONFIG_DIR"] = configDirectory,
        }, stdin);
    }

    public async Task LoginAsync(string email, string directory) =>
        (await RunWithInputAsync(directory, ApiServer.Password + "\n", "login", "--api", Api, "--email", email, "--password-stdin")).Succeeded();

    public async Task InitAsync(string directory, string org, string name) =>
        (await RunAsync(directory, "init", "--api", Api, "--org", org, "--name", name)).Succeeded();

    public async Task<TimedRun> DeployProductionAsync(string directory) =>
        (await RunAsync(directory, "deploy", "--prod", "--api", Api)).Succeeded();
}
