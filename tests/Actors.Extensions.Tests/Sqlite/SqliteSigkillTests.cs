using System.Globalization;
using Actors.Extensions.Sqlite;

namespace Actors.Extensions.Tests.Sqlite;

/// <summary>
/// A real silo process (tests/Actors.Extensions.Sqlite.Child) writes grain state in a loop and prints each
/// acknowledged write; it is SIGKILLed mid-stream, started again on the same file, and must read back every
/// write it acknowledged, in both durability modes (SIGKILL is a process death: NORMAL must survive it too).
/// </summary>
public sealed class SqliteSigkillTests
{
    private const int Grains = 32;
    private const int AcksBeforeKill = 3000;

    [Theory]
    [InlineData(SqliteDurability.Full)]
    [InlineData(SqliteDurability.Normal)]
    public async Task Every_write_acknowledged_before_SIGKILL_is_read_back_after_a_restart(SqliteDurability durability)
    {
        var child = RepoPaths.ProjectOutput("tests/Actors.Extensions.Sqlite.Child", "Actors.Extensions.Sqlite.Child");
        Assert.True(File.Exists(child), $"{child} is missing: build tests/Actors.Extensions.Tests (it builds the child too).");
        using var directory = new TempDirectory();
        var database = directory.File("killed.db");

        Dictionary<int, int> acknowledged;
        await using (var writer = Start(child, "write", database, durability))
        {
            await writer.WaitForOutputAsync(line => line == "ready", TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
            var acks = 0;
            await writer.WaitForOutputAsync(line => line.StartsWith("ack ", StringComparison.Ordinal) && ++acks >= AcksBeforeKill,
                TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);
            writer.Kill(Signal.SIGKILL);
            Assert.True(await writer.WaitForExitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken), "The writer outlived SIGKILL.");
            Assert.Equal(137, writer.ExitCode);
            acknowledged = Parse(writer.Lines, "ack");
        }

        Assert.Equal(Grains, acknowledged.Count);
        await using var reader = Start(child, "read", database, durability);
        await reader.WaitForOutputAsync(line => line == "done", TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        var stored = Parse(reader.Lines, "count");

        foreach (var (grain, ack) in acknowledged)
        {
            // At least every acknowledged write; at most the one write per grain that was in flight when the process died.
            Assert.InRange(stored[grain], ack, ack + 1);
        }
    }

    private static ChildProcess Start(string child, string mode, string database, SqliteDurability durability) =>
        ChildProcess.Start(RepoPaths.DotnetHost,
        [
            child, mode, database, Grains.ToString(CultureInfo.InvariantCulture), durability.ToString(),
            ChildProcess.FreeTcpPort().ToString(CultureInfo.InvariantCulture), ChildProcess.FreeTcpPort().ToString(CultureInfo.InvariantCulture),
        ]);

    /// <summary>The highest count per grain among lines "<paramref name="prefix"/> grain count".</summary>
    private static Dictionary<int, int> Parse(IEnumerable<string> lines, string prefix)
    {
        var highest = new Dictionary<int, int>();
        foreach (var line in lines)
        {
            var parts = line.Split(' ');
            if (parts.Length == 3 && parts[0] == prefix
                && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var grain)
                && int.TryParse(parts[2], CultureInfo.InvariantCulture, out var count))
            {
                highest[grain] = Math.Max(highest.GetValueOrDefault(grain), count);
            }
        }

        return highest;
    }
}
