using System.Diagnostics;
using Actors.Runtime.Tests.Grains;

namespace Actors.Runtime.Tests;

/// <summary>
/// Turn-based scheduling. Tests on default options share one silo (each with its own grain keys); those that set
/// options, stop the silo or leave a timer running start their own.
/// </summary>
[Collection(SharedSiloCollection.Name)]
public sealed class SchedulingTests(SharedSiloFixture shared)
{
    [Fact]
    public async Task A_non_reentrant_grain_never_interleaves_even_across_awaits()
    {
        var silo = shared.Silo;
        var grain = silo.GrainFactory.GetGrain<INonReentrantProbe>("serial");

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => grain.Work(2)));

        var report = await grain.Report();
        Assert.Equal(1, report.MaxConcurrentCalls);
        Assert.Equal(0, report.ParallelThreadViolations);
    }

    [Fact]
    public async Task A_reentrant_grain_interleaves_at_awaits_but_never_runs_on_two_threads()
    {
        var silo = shared.Silo;
        var grain = silo.GrainFactory.GetGrain<IReentrantProbe>("reentrant");

        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => grain.Work(20))));

        var report = await grain.Report();
        Assert.True(report.MaxConcurrentCalls > 1, $"expected interleaving, saw at most {report.MaxConcurrentCalls} call(s) in progress");
        Assert.Equal(0, report.ParallelThreadViolations);
    }

    [Fact]
    public async Task Read_only_calls_interleave_with_each_other_but_not_with_writes()
    {
        var silo = shared.Silo;
        var reads = silo.GrainFactory.GetGrain<INonReentrantProbe>("readers");
        await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => reads.Read(20))));
        Assert.True((await reads.Report()).MaxConcurrentCalls > 1);

        var mixed = silo.GrainFactory.GetGrain<INonReentrantProbe>("mixed");
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => i % 3 == 0 ? mixed.Work(5) : mixed.Read(5))));
        var report = await mixed.Report();
        Assert.Equal(0, report.ParallelThreadViolations);
        Assert.Equal(0, report.WriteOverlaps);
    }

    [Fact]
    public async Task Always_interleave_methods_run_while_a_non_reentrant_call_waits()
    {
        var silo = shared.Silo;
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
        var silo = shared.Silo;
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
        var silo = shared.Silo;
        var error = await Assert.ThrowsAsync<DeadlockException>(() => silo.GrainFactory.GetGrain<INonReentrantChainGrain>(first).Call(path));
        Assert.Contains(cycle, error.Message);
    }

    [Fact]
    public async Task A_cycle_closed_from_Task_Run_inside_a_grain_is_detected_too()
    {
        var silo = shared.Silo;
        var stopwatch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<DeadlockException>(() => silo.GrainFactory.GetGrain<INonReentrantChainGrain>("T1").CallOffContext(["T2", "T1"]));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task A_call_from_finished_fire_and_forget_work_waits_instead_of_failing_as_a_deadlock()
    {
        var silo = shared.Silo;
        var a = silo.GrainFactory.GetGrain<INonReentrantChainGrain>("F1");

        // The background call F1 -> F2 -> F1 starts after its own request ended, while F1 is busy with another.
        await a.StartBackgroundCall(["F2", "F1"], delayMs: 100);
        await a.Busy(600);

        Assert.Equal("F2>F1", await ChainGrain.BackgroundCalls["F1"]);
    }

    [Fact]
    public async Task Reentrant_grains_may_call_back_into_themselves()
    {
        var silo = shared.Silo;
        var a = silo.GrainFactory.GetGrain<IReentrantChainGrain>("r-self");
        Assert.Equal("r-self>S>r-self", await a.Call(["S", "r-self"]));
    }

    [Fact]
    public async Task A_call_that_outlives_the_response_timeout_fails_with_TimeoutException()
    {
        await using var silo = await TestSilos.StartAsync(s => s.Configure(o => o.ResponseTimeout = TimeSpan.FromMilliseconds(300)));
        var grain = silo.GrainFactory.GetGrain<IFaultyGrain>("slow");

        var running = grain.Sleep(3_000);
        var queued = grain.Sleep(1);
        var error = await Assert.ThrowsAsync<TimeoutException>(() => running);
        Assert.Contains("did not answer within", error.Message);
        await Assert.ThrowsAsync<TimeoutException>(() => queued);

        // A turn blocked in synchronous code times out as well.
        await Assert.ThrowsAsync<TimeoutException>(() => silo.GrainFactory.GetGrain<IFaultyGrain>("spinning").Spin(2_000));
        Assert.Equal(10, await silo.GrainFactory.GetGrain<IFaultyGrain>("quick").Sleep(10));
    }

    [Fact]
    public async Task A_failed_activation_fails_its_callers_and_the_next_call_tries_again()
    {
        await using var silo = await TestSilos.StartAsync(s => s.Configure(o => o.ActivationTimeout = TimeSpan.FromMilliseconds(300)));

        var failing = silo.GrainFactory.GetGrain<IFragileGrain>("fail-1");
        var error = await Assert.ThrowsAsync<GrainActivationException>(() => failing.Hello());
        Assert.Contains("refusing to activate fail-1", error.Message);
        await Assert.ThrowsAsync<GrainActivationException>(() => failing.Hello());

        var hanging = silo.GrainFactory.GetGrain<IFragileGrain>("hang-1");
        var hung = await Assert.ThrowsAsync<GrainActivationException>(() => hanging.Hello());
        Assert.IsType<TimeoutException>(hung.InnerException);

        Assert.Equal("hello ok-1", await silo.GrainFactory.GetGrain<IFragileGrain>("ok-1").Hello());
    }

    [Fact]
    public async Task Stopping_the_silo_fails_calls_that_were_still_running()
    {
        var silo = await TestSilos.StartAsync(s => s.Configure(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200)));
        var call = silo.GrainFactory.GetGrain<IFaultyGrain>("stopping").Sleep(10_000);
        await Task.Delay(100, TestContext.Current.CancellationToken);

        await silo.DisposeAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => call);
        Assert.Contains("silo stopped", error.Message);
    }

    [Theory]
    [InlineData("argument", typeof(ArgumentException))]
    [InlineData("custom", typeof(GrainTestException))]
    [InlineData("async", typeof(InvalidOperationException))]
    public async Task The_callee_exception_reaches_the_caller_with_its_type_and_message(string kind, Type expected)
    {
        var silo = shared.Silo;
        var message = $"boom {kind} {Guid.NewGuid()}";

        var error = await Assert.ThrowsAnyAsync<Exception>(() => silo.GrainFactory.GetGrain<IFaultyGrain>($"thrower-{kind}").Throw(kind, message));

        Assert.IsType(expected, error);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public async Task Timer_ticks_take_turns_with_calls()
    {
        // Its own silo: the timer keeps ticking until the silo stops.
        await using var silo = await TestSilos.StartAsync();
        var grain = silo.GrainFactory.GetGrain<ITimerGrain>("timer");

        await grain.Start(periodMs: 5, callbackMs: 30, interleave: false);
        for (var i = 0; i < 30; i++)
        {
            Assert.False(await grain.TickInProgress(), "a call got a turn in the middle of a tick");
        }

        await ActivationTests.Eventually(async () => (await grain.Report()).Ticks >= 5);
        Assert.Equal(0, (await grain.Report()).Overlaps);
    }

    [Fact]
    public async Task Interleaving_timer_ticks_never_overlap_each_other_even_when_slower_than_the_period()
    {
        await using var silo = await TestSilos.StartAsync(s => s.Configure(o => o.ResponseTimeout = TimeSpan.FromMilliseconds(200)));
        var grain = silo.GrainFactory.GetGrain<ITimerGrain>("slow-timer");

        // Each tick takes longer than both the period and the response timeout: ticks have no caller to time out.
        await grain.Start(periodMs: 20, callbackMs: 300, interleave: true);
        await ActivationTests.Eventually(async () => (await grain.Report()).Ticks >= 3);

        Assert.Equal(0, (await grain.Report()).Overlaps);
    }
}
