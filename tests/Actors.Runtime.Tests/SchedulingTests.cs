using System.Diagnostics;
using Actors.Runtime.Tests.Grains;

namespace Actors.Runtime.Tests;

public sealed class SchedulingTests
{
    [Fact]
    public async Task A_non_reentrant_grain_never_interleaves_even_across_awaits()
    {
        await using var silo = await TestSilos.StartAsync();
        var grain = silo.GrainFactory.GetGrain<INonReentrantProbe>("serial");

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => grain.Work(2)));

        var report = await grain.Report();
        Assert.Equal(1, report.MaxConcurrentCalls);
        Assert.Equal(0, report.ParallelThreadViolations);
    }

    [Fact]
    public async Task A_reentrant_grain_interleaves_at_awaits_but_never_runs_on_two_threads()
    {
        await using var silo = await TestSilos.StartAsync();
        var grain = silo.GrainFactory.GetGrain<IReentrantProbe>("reentrant");

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => grain.Work(20))));

        var report = await grain.Report();
        Assert.True(report.MaxConcurrentCalls > 1, $"expected interleaving, saw at most {report.MaxConcurrentCalls} call(s) in progress");
        Assert.Equal(0, report.ParallelThreadViolations);
    }

    [Fact]
    public async Task Read_only_calls_interleave_with_each_other_but_not_with_writes()
    {
        await using var silo = await TestSilos.StartAsync();
        var reads = silo.GrainFactory.GetGrain<INonReentrantProbe>("readers");
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => reads.Read(20))));
        Assert.True((await reads.Report()).MaxConcurrentCalls > 1);

        var mixed = silo.GrainFactory.GetGrain<INonReentrantProbe>("mixed");
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => i % 2 == 0 ? mixed.Work(5) : mixed.Read(5))));
        var report = await mixed.Report();
        Assert.Equal(0, report.ParallelThreadViolations);
        // Reads may overlap each other, but a write always runs alone; with alternating calls the peak stays small.
        Assert.True(report.MaxConcurrentCalls < 20);
    }

    [Fact]
    public async Task Always_interleave_methods_run_while_a_non_reentrant_call_waits()
    {
        await using var silo = await TestSilos.StartAsync();
        var grain = silo.GrainFactory.GetGrain<INonReentrantProbe>("interleave");

        var slow = grain.Work(500);
        var stopwatch = Stopwatch.StartNew();
        await grain.Interleaved(1);
        stopwatch.Stop();
        await slow;

        Assert.True(stopwatch.ElapsedMilliseconds < 400, $"the interleaved call waited {stopwatch.ElapsedMilliseconds} ms");
        Assert.Equal(2, (await grain.Report()).MaxConcurrentCalls);
    }

    [Fact]
    public async Task A_call_cycle_fails_at_once_with_a_DeadlockException_naming_the_cycle()
    {
        await using var silo = await TestSilos.StartAsync();
        var a = silo.GrainFactory.GetGrain<INonReentrantChainGrain>("A");

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<DeadlockException>(() => a.Call(["B", "A"]));
        stopwatch.Stop();

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"took {stopwatch.Elapsed}");
        Assert.Contains("nonreentrantchain/A -> nonreentrantchain/B -> nonreentrantchain/A", error.Message);

        // The grains are usable afterwards, and chains without a cycle work.
        Assert.Equal("A>B>C", await a.Call(["B", "C"]));
    }

    [Theory]
    [InlineData("X", new[] { "Y", "Z", "X" }, "nonreentrantchain/X -> nonreentrantchain/Y -> nonreentrantchain/Z -> nonreentrantchain/X")]
    [InlineData("P", new[] { "r-Q", "P" }, "nonreentrantchain/P -> reentrantchain/r-Q -> nonreentrantchain/P")]
    public async Task Longer_cycles_and_cycles_through_reentrant_grains_are_detected(string first, string[] path, string cycle)
    {
        await using var silo = await TestSilos.StartAsync();
        var error = await Assert.ThrowsAsync<DeadlockException>(() => silo.GrainFactory.GetGrain<INonReentrantChainGrain>(first).Call(path));
        Assert.Contains(cycle, error.Message);
    }

    [Fact]
    public async Task Reentrant_grains_may_call_back_into_themselves()
    {
        await using var silo = await TestSilos.StartAsync();
        var a = silo.GrainFactory.GetGrain<IReentrantChainGrain>("r-A");
        Assert.Equal("r-A>B>r-A", await a.Call(["B", "r-A"]));
    }

    [Fact]
    public async Task A_call_that_outlives_the_response_timeout_fails_with_TimeoutException()
    {
        await using var silo = await TestSilos.StartAsync(s => s.Configure(o => o.ResponseTimeout = TimeSpan.FromMilliseconds(300)));
        var grain = silo.GrainFactory.GetGrain<IFaultyGrain>("slow");

        var error = await Assert.ThrowsAsync<TimeoutException>(() => grain.Sleep(3_000));
        Assert.Contains("did not answer within", error.Message);
        Assert.Equal(10, await silo.GrainFactory.GetGrain<IFaultyGrain>("quick").Sleep(10));
    }

    [Theory]
    [InlineData("argument", typeof(ArgumentException))]
    [InlineData("custom", typeof(GrainTestException))]
    [InlineData("async", typeof(InvalidOperationException))]
    public async Task The_callee_exception_reaches_the_caller_with_its_type_and_message(string kind, Type expected)
    {
        await using var silo = await TestSilos.StartAsync();
        var message = $"boom {kind} {Guid.NewGuid()}";

        var error = await Assert.ThrowsAnyAsync<Exception>(() => silo.GrainFactory.GetGrain<IFaultyGrain>("thrower").Throw(kind, message));

        Assert.IsType(expected, error);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public async Task Timer_ticks_never_overlap_and_take_turns()
    {
        await using var silo = await TestSilos.StartAsync();
        var grain = silo.GrainFactory.GetGrain<ITimerGrain>("timer");

        await grain.Start(periodMs: 5, callbackMs: 30);
        await ActivationTests.Eventually(async () => (await grain.Report()).Ticks >= 5);

        Assert.Equal(0, (await grain.Report()).Overlaps);
    }
}
