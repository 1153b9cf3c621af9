using System.Diagnostics;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Cluster.Tests;

/// <summary>
/// The cluster's promises, shown with real silo processes, real PostgreSQL, and signals: SIGKILL, SIGSTOP/SIGCONT, SIGTERM.
/// </summary>
public sealed class ClusterProcessTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string[] Keys(string prefix, int count) => Enumerable.Range(0, count).Select(i => $"{prefix}-{i}").ToArray();

    [Fact]
    public async Task Calls_from_every_silo_and_the_client_reach_exactly_one_activation_per_grain_on_its_owner()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct);
        var keys = Keys("one", 40);

        // Fan-out grains spread over the silos call every probe, while the client calls them directly too.
        var fromSilos = Enumerable.Range(0, 12).Select(i => cluster.Grains.GetGrain<IFanOutGrain>($"fan-{i}").Touch(keys));
        var fromClient = Enumerable.Range(0, 400).Select(i => cluster.Grains.GetGrain<IPlacementProbeGrain>(keys[i % keys.Length]).Where());
        var silosAnswers = (await Task.WhenAll(fromSilos)).SelectMany(a => a).ToArray();
        var clientAnswers = await Task.WhenAll(fromClient);
        var answers = silosAnswers.Concat(clientAnswers).ToArray();

        var journal = await cluster.ActivationJournalAsync(Ct);
        foreach (var key in keys)
        {
            var recorded = journal[$"placementprobe/{key}"];
            Assert.Single(recorded);
            Assert.All(answers.Where(a => a.Key == key), a =>
            {
                Assert.Equal(recorded[0].Activation, a.Activation);
                Assert.Equal(recorded[0].Silo, a.Silo);
            });
        }

        Assert.Equal(3, answers.Select(a => a.Silo).Distinct().Count());

    }

    [Fact]
    public async Task A_SIGKILLed_silo_is_declared_dead_within_5_s_and_its_grains_move_with_their_state()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct);
        var load = new LoadLoop(cluster.Grains, Keys("kill", 60), workers: 8);
        await Task.Delay(2000, Ct);
        var victim = cluster.Silos[1];
        var onVictim = (await Task.WhenAll(load.Keys.Select(k => cluster.Grains.GetGrain<IPlacementProbeGrain>(k).Where())))
            .Where(v => v.Silo == victim.Address.ToString()).Select(v => v.Key).ToArray();
        var failedBefore = load.Failures.Count;

        var killedAt = Stopwatch.StartNew();
        victim.Process.Kill(Signal.SIGKILL);
        while (await cluster.StatusOfAsync(victim.Address, Ct) != SiloStatus.Dead)
        {
            Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(5), $"{victim.Address} was not declared dead within 5 s.");
            await Task.Delay(50, Ct);
        }

        var declaredAfter = killedAt.Elapsed;
        var succeededAtDeath = load.Succeeded;
        await Task.Delay(3000, Ct);
        var succeededAfterDeath = load.Succeeded - succeededAtDeath;
        await load.StopAsync();

        // Failures: only calls that were in flight when the silo died (at most one per worker).
        Assert.True(failedBefore == 0, $"{failedBefore} calls failed before any silo died:\n{load.DescribeFailures()}");
        Assert.True(load.Failures.Count <= 8, $"{load.Failures.Count} failed calls (declared dead after {declaredAfter}):\n{load.DescribeFailures()}");
        // New calls succeed once the silo is declared dead, including calls to its grains.
        Assert.True(succeededAfterDeath > 100, $"only {succeededAfterDeath} calls succeeded in the 3 s after the death declaration");

        // Its grains live on the survivors now, with every acknowledged write.
        Assert.NotEmpty(onVictim);
        foreach (var key in load.Keys)
        {
            var view = await cluster.Grains.GetGrain<IPlacementProbeGrain>(key).Increment();
            Assert.NotEqual(victim.Address.ToString(), view.Silo);
            var acknowledged = load.Acknowledged.GetValueOrDefault(key);
            Assert.InRange(view.Count - 1, acknowledged, acknowledged + load.FailuresFor(key));
        }
    }

    [Fact]
    public async Task A_fourth_silo_joining_under_load_gets_new_activations_and_no_acknowledged_write_is_lost()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct);
        var load = new LoadLoop(cluster.Grains, Keys("join", 120), workers: 8);
        await Task.Delay(1500, Ct);
        var before = (await Task.WhenAll(load.Keys.Select(k => cluster.Grains.GetGrain<IPlacementProbeGrain>(k).Where())))
            .ToDictionary(p => p.Key, p => p.Silo);

        var newcomer = await cluster.AddSiloAsync(Ct);
        await cluster.WaitForActiveAsync(4, TimeSpan.FromSeconds(20), Ct);
        await Task.Delay(2000, Ct);
        await load.StopAsync();

        // Orleans leaves running activations where they are: the grains under load stay put, with every acknowledged write.
        var placements = await Task.WhenAll(load.Keys.Select(k => cluster.Grains.GetGrain<IPlacementProbeGrain>(k).Where()));
        Assert.All(placements, p => Assert.Equal(before[p.Key], p.Silo));
        foreach (var placement in placements)
        {
            var acknowledged = load.Acknowledged.GetValueOrDefault(placement.Key);
            Assert.InRange(placement.Count, acknowledged, acknowledged + load.FailuresFor(placement.Key));
        }

        // New activations spread over all four silos, the newcomer included (random placement: about 30 of 120).
        var fresh = await Task.WhenAll(Keys("after-join", 120).Select(k => cluster.Grains.GetGrain<IPlacementProbeGrain>(k).Increment()));
        var onNewcomer = fresh.Count(p => p.Silo == newcomer.Address.ToString());
        TestContext.Current.TestOutputHelper?.WriteLine($"{onNewcomer} of {fresh.Length} new activations on the fourth silo");
        Assert.InRange(onNewcomer, 10, 119);
        Assert.Equal(4, fresh.Select(p => p.Silo).Distinct().Count());
    }

    [Fact]
    public async Task A_silo_paused_past_the_death_timeout_stops_itself_when_resumed()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct);
        var paused = cluster.Silos[2];
        var placements = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => cluster.Grains.GetGrain<IPlacementProbeGrain>($"paused-{i}").Increment()));
        var lived = placements.First(p => p.Silo == paused.Address.ToString());

        paused.Process.Kill(Signal.SIGSTOP);
        var stopwatch = Stopwatch.StartNew();
        while (await cluster.StatusOfAsync(paused.Address, Ct) != SiloStatus.Dead)
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"{paused.Address} was not declared dead while paused.");
            await Task.Delay(50, Ct);
        }

        // Meanwhile its grains answer from the other silos (once the client has re-read the table).
        await Task.Delay(1500, Ct);
        var view = await cluster.Grains.GetGrain<IPlacementProbeGrain>(lived.Key).Increment();
        Assert.NotEqual(paused.Address.ToString(), view.Silo);
        Assert.Equal(2, view.Count); // reactivated elsewhere with its written state

        paused.Process.Kill(Signal.SIGCONT);
        Assert.True(await paused.Process.WaitForExitAsync(TimeSpan.FromSeconds(15), Ct),
            $"The resumed silo kept running although it was declared dead.\n{paused.Process}");
        Assert.NotEqual(0, paused.Process.ExitCode);
    }

    [Fact]
    public async Task A_SIGTERMed_silo_hands_its_grains_off_with_no_failed_call()
    {
        await using var cluster = await ClusterHarness.StartAsync(postgres, silos: 3, Ct);
        var load = new LoadLoop(cluster.Grains, Keys("term", 60), workers: 8);
        await Task.Delay(1500, Ct);

        var leaving = cluster.Silos[0];
        leaving.Process.Kill(Signal.SIGTERM);
        Assert.True(await leaving.Process.WaitForExitAsync(TimeSpan.FromSeconds(30), Ct), $"The silo did not stop on SIGTERM.\n{leaving.Process}");
        Assert.Equal(0, leaving.Process.ExitCode);
        await Task.Delay(2000, Ct);
        await load.StopAsync();

        Assert.True(load.Failures.Count == 0, $"{load.Failures.Count} failed calls:\n{load.DescribeFailures()}");
        var placements = await Task.WhenAll(load.Keys.Select(k => cluster.Grains.GetGrain<IPlacementProbeGrain>(k).Where()));
        Assert.All(placements, p =>
        {
            Assert.NotEqual(leaving.Address.ToString(), p.Silo);
            Assert.Equal(load.Acknowledged.GetValueOrDefault(p.Key), p.Count);
        });
    }
}
