using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// The built <c>deck</c> (cli/bin/Release/…/deck.dll, or the native one) run as a process with its own config directory, as a user runs it:
/// none of the developer's ~/.config/clouddeck or CLOUDDECK_* variables reach it.
/// </summary>
internal sealed class Deck(ApiServer api, string configDirectory, string? dll = null)
{
    /// <summary>
    /// The build's deck.dll by default; <c>--deck path</c> measures another: a deck.dll (run by the dotnet host) or a
    /// native deck (run as is; <c>./build.sh bench deploy</c> passes the one <c>./build.sh deck</c> publishes).
    /// </summary>
    private readonly string _dll = dll ?? RepoPaths.ProjectOutput("cli", "deck");

    public string Api => api.BaseAddress.ToString();

    public Task<TimedRun> RunAsync(string directory, params string[] args) => RunWithInputAsync(directory, null, args);

    public async Task<TimedRun> RunWithInputAsync(string directory, string? stdin, params string[] args)
    {
        if (!File.Exists(_dll)) throw new FileNotFoundException($"{_dll} is missing: build cli/CloudDeck.Cli.csproj in Release.", _dll);
        var managed = _dll.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        return await TimedProcess.RunAsync(managed ? RepoPaths.DotnetHost : Path.GetFullPath(_dll), managed ? [_dll, .. args] : args, directory, new Dictionary<string, string?>
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
