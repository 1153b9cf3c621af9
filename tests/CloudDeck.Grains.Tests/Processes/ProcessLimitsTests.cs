using System.Diagnostics;
using CloudDeck.Grains.Processes;
using CloudDeck.Testing;

namespace CloudDeck.Grains.Tests.Processes;

/// <summary>
/// The limits helper on its own, as a server runtime uses it: a start info wrapped with prlimit starts a real process
/// (and its children) under the limits, and the watch tells a limit's end from any other failure.
/// </summary>
public sealed class ProcessLimitsTests
{
    [Fact]
    public async Task A_process_started_with_limits_applied_and_its_children_run_under_them()
    {
        Need.Component(Requirement.Check(ProcessLimits.Unenforceable is null, "prlimit", "apt-get install util-linux"));
        var info = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        // The limits of a grandchild: sh forks cat, which inherits what prlimit set on sh.
        info.ArgumentList.Add("cat /proc/self/limits | grep -E '^Max (data size|cpu time)'; echo done");

        Assert.True(new ProcessLimits(MemoryLimitMb: 300, CpuTimeLimitSeconds: 20).ApplyTo(info));
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        var lines = output.Split('\n').Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).ToList();
        Assert.Contains($"Max data size {300L << 20} {300L << 20} bytes", lines);
        Assert.Contains($"Max cpu time 20 {20 + ProcessLimits.CpuKillGraceSeconds} seconds", lines);
        Assert.Equal(0, process.ExitCode);
    }

    [Fact]
    public void No_limits_leave_the_start_info_as_it_was()
    {
        var info = new ProcessStartInfo("/bin/true");
        info.ArgumentList.Add("x");

        Assert.False(ProcessLimits.None.ApplyTo(info));
        Assert.Equal("/bin/true", info.FileName);
        Assert.Equal(["x"], info.ArgumentList);
        Assert.Equal("no resource limits", ProcessLimits.None.Describe());
    }

    [Theory]
    [InlineData("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", 134, "memory")]
    [InlineData("RangeError: Array buffer allocation failed", 1, "memory")]
    [InlineData("MemoryError", 1, "memory")]
    [InlineData("sh: 1: cannot fork: Cannot allocate memory", 2, "memory")]
    [InlineData("anything", 152, "cpu_time")]
    [InlineData("npm error signal SIGXCPU", 1, "cpu_time")]
    [InlineData("error TS2322: Type 'string' is not assignable", 2, null)]
    [InlineData("the test 'handles out of memory' passed", 0, null)]
    public void The_watch_names_the_limit_only_for_a_failed_process_that_shows_it(string line, int exitCode, string? resource)
    {
        var watch = new ProcessLimits(MemoryLimitMb: 256, CpuTimeLimitSeconds: 60).Watch();
        watch.Observe("> site@1.0.0 build");
        watch.Observe(line);

        Assert.Equal(resource, watch.BreachOf(exitCode)?.Resource);
    }

    [Fact]
    public void Without_a_memory_limit_an_out_of_memory_failure_is_the_programs_own()
    {
        var watch = new ProcessLimits(CpuTimeLimitSeconds: 60).Watch();
        watch.Observe("FATAL ERROR: JavaScript heap out of memory");

        Assert.Null(watch.BreachOf(134));
    }
}
