using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Actors.Extensions.Tests.Engine;

/// <summary>Two silos in this process, shared by the tests of this class.</summary>
public sealed class EngineCluster : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Cluster = new InProcessTestClusterBuilder(2).Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>
/// What the product builds on and Orleans promises: one activation per grain id, and turn-based execution, where
/// a non-reentrant grain runs one call at a time and only declared methods interleave.
/// </summary>
public sealed class EngineGuaranteeTests(EngineCluster engine) : IClassFixture<EngineCluster>
{
    [Fact]
    public async Task A_thousand_concurrent_callers_from_the_client_and_both_silos_reach_one_activation_per_grain()
    {
        var keys = Enumerable.Range(0, 10).Select(i => $"one-{Guid.NewGuid():N}-{i}").ToArray();
        var factories = new[] { engine.Cluster.Client }
            .Concat<IGrainFactory>(engine.Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<IGrainFactory>()))
            .ToArray();

        var answers = await Task.WhenAll(Enumerable.Range(0, 1_000).Select(i =>
        {
            var key = keys[i % keys.Length];
            return Task.Run(async () => (Key: key, Activation: await factories[i % factories.Length].GetGrain<IActivationProbeGrain>(key).Activation()));
        }));

        Assert.Equal(1_000, answers.Length);
        Assert.All(answers.GroupBy(a => a.Key), group => Assert.Single(group.Select(a => a.Activation).Distinct()));
    }

    [Fact]
    public async Task A_non_reentrant_grain_that_awaits_inside_each_call_never_runs_two_calls_at_once()
    {
        var grain = engine.Cluster.Client.GetGrain<ITurnProbeGrain>($"turns-{Guid.NewGuid():N}");

        var seen = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => grain.EnterAwaitLeave(pauseMs: 5)));

        Assert.All(seen, others => Assert.Equal(0, others));
    }

    [Fact]
    public async Task Read_only_calls_interleave_with_each_other()
    {
        var grain = engine.Cluster.Client.GetGrain<ITurnProbeGrain>($"reads-{Guid.NewGuid():N}");

        var seen = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => grain.ReadWhilePausing(pauseMs: 200)));

        Assert.Contains(seen, others => others > 0);
    }
}
