using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.Grains.Builds.Executor;
using Microsoft.Extensions.Logging.Abstractions;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>
/// One command without the build's /proc marker sweep: what the process group and the tree walk kill on their own,
/// including a child re-parented away from the tree (only its process group still ties it to the command).
/// </summary>
public sealed class CommandRunnerTests
{
    [Fact]
    public async Task Cancel_kills_the_commands_process_group_and_tree_including_re_parented_children()
    {
        await using var silo = await BuildSilo.StartAsync();
        var log = new BuildLogWriter(silo.Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, BuildIds.New()), TimeProvider.System, NullLogger.Instance);
        await log.StartAsync();
        var marker = Guid.NewGuid().ToString("N");
        using var cancel = new CancellationTokenSource();

        var run = CommandRunner.ShellAsync("sleep 600 & (sleep 600 &); sh -c 'sleep 600' & wait", silo.Directory, Environment(marker), log, cancel.Token);
        await WaitForAsync(() => Tools.ProcessesWith("TREE_MARKER", marker).Count >= 4);
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        await WaitForAsync(() => Tools.ProcessesWith("TREE_MARKER", marker).Count == 0);
        Assert.Empty(Tools.ProcessesWith("TREE_MARKER", marker));
        await log.DisposeAsync();
    }

    [Fact]
    public async Task A_commands_background_processes_end_with_it_and_its_exit_code_and_output_come_back()
    {
        await using var silo = await BuildSilo.StartAsync();
        var id = BuildIds.New();
        var stream = silo.Streams.GetStream<BuildLogLine>(BuildLogs.Namespace, id);
        var log = new BuildLogWriter(stream, TimeProvider.System, NullLogger.Instance);
        await log.StartAsync();
        var marker = Guid.NewGuid().ToString("N");

        var exit = await CommandRunner.ShellAsync("sleep 600 & echo out; echo err >&2; exit 7", silo.Directory, Environment(marker), log, CancellationToken.None);
        await log.DisposeAsync();

        Assert.Equal(7, exit);
        await WaitForAsync(() => Tools.ProcessesWith("TREE_MARKER", marker).Count == 0);
        Assert.Empty(Tools.ProcessesWith("TREE_MARKER", marker));
        var lines = (await stream.ReadAsync(LogPosition.First, 100)).Items.Select(i => (i.Item.Stream, i.Item.Text)).ToList();
        Assert.Contains((BuildLogStreams.Stdout, "out"), lines);
        Assert.Contains((BuildLogStreams.Stderr, "err"), lines);
    }

    private static Dictionary<string, string> Environment(string marker) => new()
    {
        ["PATH"] = System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin",
        ["TREE_MARKER"] = marker,
    };

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var attempt = 0; attempt < 300 && !condition(); attempt++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
