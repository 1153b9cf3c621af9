using Actors.Runtime.Tests.Grains;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actors.Runtime.Tests.Cluster;

/// <summary>Several silos and a client in this process, talking over real TCP, with membership in a real PostgreSQL.</summary>
public sealed class InProcessClusterTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<IHost> StartSiloAsync(string database, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddActorSilo(silo => silo
            .AddGrains(typeof(PlacedGrain).Assembly)
            .AddPostgresStorage(database)
            .UseCluster(o =>
            {
                o.ClusterId = clusterId;
                o.MembershipConnectionString = database;
                o.SiloPort = 0;
            }));
        var host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }

    private static async Task<IHost> StartClientAsync(string database, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddActorClusterClient(o =>
        {
            o.ClusterId = clusterId;
            o.MembershipConnectionString = database;
        }, typeof(PlacedGrain).Assembly);
        var host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }

    [Fact]
    public async Task Calls_from_every_silo_and_a_client_reach_one_activation_per_grain_on_its_owner()
    {
        var database = await postgres.Server.CreateDatabaseAsync("cluster", Ct);
        var clusterId = "c-" + Guid.NewGuid().ToString("N")[..8];
        var silos = new List<IHost>();
        for (var i = 0; i < 3; i++)
        {
            silos.Add(await StartSiloAsync(database, clusterId));
        }

        using var client = await StartClientAsync(database, clusterId);
        try
        {
            var callers = silos.Select(s => s.Services.GetRequiredService<IGrainFactory>())
                .Append(client.Services.GetRequiredService<IGrainFactory>()).ToArray();
            // Wait until every process sees all three silos.
            await ActivationTests.Eventually(() => silos.All(s => s.Services.GetRequiredService<GrainRuntime>().Cluster!.View.ActiveCount == 3)
                                                  && client.Services.GetRequiredService<GrainRuntime>().Cluster!.View.ActiveCount == 3);

            var keys = Enumerable.Range(0, 30).Select(i => $"{clusterId}-{i}").ToArray();
            var answers = await Task.WhenAll(Enumerable.Range(0, 600).Select(i => callers[i % callers.Length].GetGrain<IPlacedGrain>(keys[i % keys.Length]).Where()));

            // Every process sees the same three silos, so the rendezvous owner in the client's view is the owner.
            var view = client.Services.GetRequiredService<GrainRuntime>().Cluster!.View;
            foreach (var key in keys)
            {
                var forKey = answers.Where((_, i) => keys[i % keys.Length] == key).ToArray();
                Assert.Single(forKey.Select(a => a.Activation).Distinct());
                Assert.Single(PlacementLog.Activations[key]);
                var owner = view.Owner(callers[3].GetGrain<IPlacedGrain>(key).GetGrainId())!.ToString();
                Assert.Equal(owner, forKey[0].Silo);
            }

            // The grains spread over all three silos.
            Assert.Equal(3, answers.Select(a => a.Silo).Distinct().Count());

            // The caller's trace continues in the silos, across TCP and from grain to grain.
            var spans = new System.Collections.Concurrent.ConcurrentBag<System.Diagnostics.Activity>();
            using var listener = new System.Diagnostics.ActivityListener
            {
                ShouldListenTo = source => source.Name is RuntimeTelemetry.SourceName or "test",
                Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = spans.Add,
            };
            System.Diagnostics.ActivitySource.AddActivityListener(listener);
            using var testSource = new System.Diagnostics.ActivitySource("test");
            System.Diagnostics.ActivityTraceId traceId;
            using (var root = testSource.StartActivity("api request"))
            {
                traceId = root!.TraceId;
                await callers[3].GetGrain<IPlacedGrain>(keys[1]).WhereVia(keys[2]);
            }

            await ActivationTests.Eventually(() => spans.Count(s => s.TraceId == traceId) >= 3);
            var outer = spans.Single(s => s.TraceId == traceId && s.DisplayName.EndsWith(".WhereVia", StringComparison.Ordinal));
            var inner = spans.Single(s => s.TraceId == traceId && s.DisplayName.EndsWith(".Where", StringComparison.Ordinal));
            Assert.Equal(outer.SpanId, inner.ParentSpanId);
            Assert.Equal($"placed/{keys[2]}", inner.GetTagItem("grain.id"));

            // A call cycle through two silos fails at once, as it does within one.
            var bySilo = answers.GroupBy(a => a.Silo).Select(g => keys[Array.IndexOf(answers, g.First()) % keys.Length]).Take(2).ToArray();
            var cycleStart = System.Diagnostics.Stopwatch.StartNew();
            var deadlock = await Assert.ThrowsAsync<DeadlockException>(() => callers[3].GetGrain<IPlacedGrain>(bySilo[0]).Chain([bySilo[1], bySilo[0]]));
            Assert.True(cycleStart.Elapsed < TimeSpan.FromSeconds(1), $"took {cycleStart.Elapsed}");
            Assert.Contains($"placed/{bySilo[0]} -> placed/{bySilo[1]} -> placed/{bySilo[0]}", deadlock.Message);
            var third = keys.First(k => !bySilo.Contains(k));
            Assert.Equal($"{bySilo[0]}>{bySilo[1]}>{third}", await callers[0].GetGrain<IPlacedGrain>(bySilo[0]).Chain([bySilo[1], third]));

            // A one-way call returns before the grain has run it, and runs all the same.
            var poked = callers[3].GetGrain<IPlacedGrain>(keys[5]);
            var sent = System.Diagnostics.Stopwatch.StartNew();
            await poked.Poke();
            Assert.True(sent.ElapsedMilliseconds < 150, $"a one-way call waited {sent.ElapsedMilliseconds} ms");
            await ActivationTests.Eventually(async () => await poked.Get() == 1);

            // State written through one process is read through another.
            var counter = callers[3].GetGrain<IPlacedGrain>(keys[0]);
            await counter.Increment();
            await callers[0].GetGrain<IPlacedGrain>(keys[0]).Increment();
            Assert.Equal(2, await callers[1].GetGrain<IPlacedGrain>(keys[0]).Get());
        }
        finally
        {
            await client.StopAsync(Ct);
            foreach (var silo in silos)
            {
                await silo.StopAsync(Ct);
                silo.Dispose();
            }
        }
    }

    [Fact]
    public async Task An_activation_that_finishes_after_its_grain_moved_is_handed_off_and_its_calls_follow()
    {
        var database = await postgres.Server.CreateDatabaseAsync("handoff", Ct);
        var clusterId = "h-" + Guid.NewGuid().ToString("N")[..8];
        using var first = await StartSiloAsync(database, clusterId);
        var firstRuntime = first.Services.GetRequiredService<GrainRuntime>();
        var keys = Enumerable.Range(0, 20).Select(i => $"{clusterId}-slow-{i}").ToArray();

        // Every grain starts activating on the only silo; a second silo joins while they are still activating.
        var calls = keys.Select(k => first.Services.GetRequiredService<IGrainFactory>().GetGrain<ISlowStartGrain>(k).Where()).ToArray();
        using var second = await StartSiloAsync(database, clusterId);
        try
        {
            var secondRuntime = second.Services.GetRequiredService<GrainRuntime>();
            await ActivationTests.Eventually(() => firstRuntime.Cluster!.View.ActiveCount == 2);
            var answers = await Task.WhenAll(calls);

            var moved = keys.Where(k => firstRuntime.Cluster!.View.Owner(new GrainId("slowstart", k)) == secondRuntime.Cluster!.Self).ToArray();
            Assert.NotEmpty(moved);
            // No activation of a moved grain stays behind on the first silo, and a call now reaches the owner.
            await ActivationTests.Eventually(() => moved.All(k => !firstRuntime.Catalog.TryGet(new GrainId("slowstart", k), out _)));
            foreach (var key in moved)
            {
                Assert.Equal(secondRuntime.Cluster!.Self!.ToString(),
                    await first.Services.GetRequiredService<IGrainFactory>().GetGrain<ISlowStartGrain>(key).Where());
            }

            Assert.Equal(keys.Length, answers.Length);
        }
        finally
        {
            await second.StopAsync(Ct);
            await first.StopAsync(Ct);
        }
    }
}
