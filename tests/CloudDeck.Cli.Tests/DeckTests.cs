namespace CloudDeck.Cli.Tests;

/// <summary>The built <c>deck</c> (cli/bin/…/deck.dll) run as a child process: health, version, usage errors.</summary>
public class DeckTests : DeckProcessTest
{
    [Fact]
    public async Task Health_reports_ok_for_a_running_api()
    {
        var api = await StartApiAsync();

        var (exitCode, output) = Pair(await Deck("health", "--api", api.BaseAddress.ToString()));

        Assert.True(exitCode == 0, $"deck health exited {exitCode}:\n{output}");
        Assert.Matches(@"^ok \(\d+ activations\)$", output.Trim());
    }

    [Fact]
    public async Task Health_exits_1_naming_the_url_when_nothing_listens()
    {
        var url = $"http://127.0.0.1:{ChildProcess.FreeTcpPort()}";

        var (exitCode, output) = Pair(await Deck("health", "--api", url));

        Assert.True(exitCode == 1, $"deck health exited {exitCode}:\n{output}");
        Assert.Contains(url, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_informational_version()
    {
        var (flag, flagOutput) = Pair(await Deck("--version"));
        var (command, commandOutput) = Pair(await Deck("version"));

        Assert.Equal(0, flag);
        Assert.Equal(0, command);
        Assert.Matches(@"^\d+\.\d+\.\d+", flagOutput.Trim());
        Assert.Equal(flagOutput, commandOutput);
    }

    [Theory]
    [InlineData("no-such-command")]
    [InlineData("deploy", "--no-such-option")]
    [InlineData("promote")]
    [InlineData("env", "set")]
    [InlineData("env", "set", "NAME", "value", "--environment", "staging")]
    [InlineData("health", "--api", "ftp://example.com")]
    public async Task Usage_errors_exit_2_with_the_error_on_stderr_and_nothing_on_stdout(params string[] args)
    {
        var run = await Deck(args);

        run.Expect(2);
        Assert.StartsWith("error: ", run.Stderr[0], StringComparison.Ordinal);
        Assert.DoesNotContain(run.Stdout, line => line.Trim().Length > 0);
    }

    [Fact]
    public async Task Commands_outside_a_linked_directory_exit_1_saying_how_to_link()
    {
        var run = await Deck(["deploy", "--token", "anything", "--api", "http://127.0.0.1:9/"], Work);

        run.Expect(1);
        Assert.Contains("deck link or deck init", Assert.Single(run.Stderr), StringComparison.Ordinal);
    }

    private static (int, string) Pair(DeckRun run) => (run.ExitCode, run.Output);
}
