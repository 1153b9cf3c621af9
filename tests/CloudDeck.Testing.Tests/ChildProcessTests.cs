using System.Net;
using System.Net.Sockets;

namespace CloudDeck.Testing.Tests;

public sealed class ChildProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Captures_stdout_and_stderr_and_waits_for_a_line()
    {
        await using var child = ChildProcess.Start("sh", ["-c", "echo hello; echo oops >&2; echo ready"]);

        Assert.Equal("ready", await child.WaitForOutputAsync(line => line.StartsWith("rea", StringComparison.Ordinal), Patience, Ct));
        Assert.True(await child.WaitForExitAsync(Patience, Ct));

        Assert.Equal(0, child.ExitCode);
        Assert.Contains("hello", child.Lines);
        Assert.Contains("oops", child.Lines);
        Assert.Contains("! oops", child.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Passes_environment_and_working_directory()
    {
        var env = new Dictionary<string, string?> { ["CLOUDDECK_PROBE"] = "bar", ["HOME"] = null };
        await using var child = ChildProcess.Start("sh", ["-c", "echo \"$CLOUDDECK_PROBE|${HOME:-unset}|$(pwd)\""], env, "/tmp");

        Assert.True(await child.WaitForExitAsync(Patience, Ct));

        Assert.Equal("bar|unset|/tmp", Assert.Single(child.Lines));
    }

    [Fact]
    public async Task Sigkill_ends_a_sleeping_process_with_a_signal_exit()
    {
        await using var child = ChildProcess.Start("sleep", ["60"]);

        child.Kill(Signal.SIGKILL);

        Assert.True(await child.WaitForExitAsync(Patience, Ct));
        Assert.Equal(128 + 9, child.ExitCode);
    }

    [Fact]
    public async Task Sigstop_freezes_and_sigcont_resumes()
    {
        Need.Component(Requirement.Check(Directory.Exists("/proc"), "/proc (Linux)"));
        await using var child = ChildProcess.Start("sleep", ["60"]);

        child.Kill(Signal.SIGSTOP);
        await WaitForStateAsync(child.Pid, 'T');
        child.Kill(Signal.SIGCONT);
        await WaitForStateAsync(child.Pid, 'S');
        child.Kill(Signal.SIGTERM);

        Assert.True(await child.WaitForExitAsync(Patience, Ct));
        Assert.Equal(128 + 15, child.ExitCode);
    }

    [Fact]
    public async Task Waiting_for_a_line_fails_fast_when_the_process_ends_without_it()
    {
        await using var child = ChildProcess.Start("sh", ["-c", "echo nope"]);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => child.WaitForOutputAsync(l => l == "yes", Patience, Ct));
        Assert.Contains("nope", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Waiting_for_a_line_times_out()
    {
        await using var child = ChildProcess.Start("sleep", ["60"]);

        await Assert.ThrowsAsync<TimeoutException>(() => child.WaitForOutputAsync(_ => true, TimeSpan.FromMilliseconds(200), Ct));
        Assert.False(await child.WaitForExitAsync(TimeSpan.FromMilliseconds(100), Ct));
    }

    [Fact]
    public async Task Dispose_kills_a_running_process()
    {
        var child = ChildProcess.Start("sleep", ["60"]);
        var pid = child.Pid;

        await child.DisposeAsync();

        Assert.False(Directory.Exists($"/proc/{pid}") && File.ReadAllText($"/proc/{pid}/cmdline").StartsWith("sleep", StringComparison.Ordinal));
    }

    [Fact]
    public void Free_tcp_port_can_be_bound()
    {
        var port = ChildProcess.FreeTcpPort();

        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        Assert.InRange(port, 1, 65535);
    }

    private static async Task WaitForStateAsync(int pid, char state)
    {
        var deadline = DateTime.UtcNow + Patience;
        var seen = '?';
        while (DateTime.UtcNow < deadline)
        {
            // /proc/<pid>/stat is "pid (comm) STATE ..."; comm may contain spaces, so cut after the last ')'.
            var stat = await File.ReadAllTextAsync($"/proc/{pid}/stat", Ct);
            seen = stat[(stat.LastIndexOf(')') + 2)..][0];
            if (seen == state) return;
            await Task.Delay(20, Ct);
        }
        Assert.Fail($"pid {pid} stayed in state '{seen}', expected '{state}'.");
    }
}
