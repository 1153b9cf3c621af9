using CloudDeck.Api.Tests;

namespace CloudDeck.Cli.Tests;

/// <summary>The built <c>deck</c> (cli/bin/…/deck.dll) run as a child process.</summary>
public sealed class DeckTests : ProcessTest
{
    private static readonly TimeSpan DeckTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Health_reports_ok_for_a_running_api()
    {
        var api = await StartApiAsync();

        var (exitCode, output) = await Deck("health", "--api", api.BaseAddress.ToString());

        Assert.True(exitCode == 0, $"deck health exited {exitCode}:\n{output}");
        Assert.Matches(@"^ok \(\d+ activations\)$", output.Trim());
    }

    [Fact]
    public async Task Health_exits_1_naming_the_url_when_nothing_listens()
    {
        var url = $"http://127.0.0.1:{ChildProcess.FreeTcpPort()}";

        var (exitCode, output) = await Deck("health", "--api", url);

        Assert.True(exitCode == 1, $"deck health exited {exitCode}:\n{output}");
        Assert.Contains(url, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_informational_version()
    {
        var (flag, flagOutput) = await Deck("--version");
        var (command, commandOutput) = await Deck("version");

        Assert.Equal(0, flag);
        Assert.Equal(0, command);
        Assert.Matches(@"^\d+\.\d+\.\d+", flagOutput.Trim());
        Assert.Equal(flagOutput, commandOutput);
    }

    private async Task<(int ExitCode, string Output)> Deck(params string[] args)
    {
        var dll = RepoPaths.ProjectOutput("cli", "deck");
        Assert.True(File.Exists(dll), $"{dll} is missing: build cli/CloudDeck.Cli.csproj in the same configuration as the tests.");
        // CLOUDDECK_API removed so a developer's setting cannot change what the test talks to.
        var deck = Track(ChildProcess.Start(ApiHost.DotnetHost, [dll, .. args],
            new Dictionary<string, string?> { ["CLOUDDECK_API"] = null }, workingDirectory: DataDirectory));
        Assert.True(await deck.WaitForExitAsync(DeckTimeout, Cancellation), $"deck {string.Join(' ', args)} did not exit within {DeckTimeout}:\n{deck.Output}");
        return (deck.ExitCode!.Value, deck.Output);
    }
}
