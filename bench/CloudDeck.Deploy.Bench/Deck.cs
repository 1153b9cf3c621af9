using CloudDeck.Testing;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// The built <c>deck</c> (cli/bin/Release/…/deck.dll) run as a process with its own config directory, as a user runs it:
/// none of the developer's ~/.config/clouddeck or CLOUDDECK_* variables reach it.
/// </summary>
internal sealed class Deck(ApiServer api, string configDirectory)
{
    private static readonly string Dll = RepoPaths.ProjectOutput("cli", "deck");

    public string Api => api.BaseAddress.ToString();

    public Task<TimedRun> RunAsync(string directory, params string[] args) => RunWithInputAsync(directory, null, args);

    public async Task<TimedRun> RunWithInputAsync(string directory, string? stdin, params string[] args)
    {
        if (!File.Exists(Dll)) throw new FileNotFoundException($"{Dll} is missing: build cli/CloudDeck.Cli.csproj in Release.", Dll);
        return await TimedProcess.RunAsync(RepoPaths.DotnetHost, [Dll, .. args], directory, new Dictionary<string, string?>
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
