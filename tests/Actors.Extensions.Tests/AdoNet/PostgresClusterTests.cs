using System.Diagnostics;
using Actors.Extensions.AdoNet;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace Actors.Extensions.Tests.AdoNet;

public sealed class PostgresClusterTests(PostgresFixture postgres)
{
    private const int Active = 3;
    private const int Dead = 6;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Three_silos_starting_at_once_form_a_cluster_over_our_table_and_a_client_reaches_them_through_the_gateway_list()
    {
        await using var cluster = await PostgresSiloHarness.CreateAsync(postgres, "cluster_three");

        // All three install the schema and join at the same moment, on an empty database.
        var silos = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => cluster.StartSiloAsync()));
        var client = await cluster.StartClientAsync();
        var grains = client.Services.GetRequiredService<IClusterClient>();

        var places = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => grains.GetGrain<IPersistentCounterGrain>("spread-" + i).Where()));

        foreach (var silo in silos)
        {
            Assert.Equal(Active, await cluster.StatusInTableAsync(PostgresSiloHarness.AddressOf(silo)));
        }
        Assert.Equal(3L, await PostgresSchemaTests.ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM orleans_membership WHERE proxy_port > 0"));
        // Random placement over three silos: sixty grains all on one silo would mean the others never joined.
        Assert.True(places.Distinct().Count() > 1, $"all grains on {places[0]}");
        Assert.Equal(places.Length, places.Length);
    }

    [Fact]
    public async Task A_silo_stopped_without_leaving_is_declared_Dead_by_the_others_and_its_grains_answer_elsewhere_with_their_state()
    {
        await using var cluster = await PostgresSiloHarness.CreateAsync(postgres, "cluster_kill");
        var silos = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => cluster.StartSiloAsync(s => s.ConfigureFastFailureDetection())));
        var client = await cluster.StartClientAsync();
        var grains = client.Services.GetRequiredService<IClusterClient>();
        var victim = silos[2];
        var victimAddress = PostgresSiloHarness.AddressOf(victim).ToString();

        // Counters with state, some of them living on the victim.
        var keys = Enumerable.Range(0, 30).Select(i => "kill-" + i).ToArray();
        foreach (var key in keys) await grains.GetGrain<IPersistentCounterGrain>(key).Add(key.Length);
        var onVictim = new List<string>();
        foreach (var key in keys)
        {
            if (await grains.GetGrain<IPersistentCounterGrain>(key).Where() == victimAddress) onVictim.Add(key);
        }
        Assert.NotEmpty(onVictim);

        var killedAt = Stopwatch.StartNew();
        await PostgresSiloHarness.KillAsync(victim);

        var deadAfter = await WaitForStatusAsync(cluster, PostgresSiloHarness.AddressOf(victim), Dead);
        var answeredAfter = TimeSpan.Zero;
        foreach (var key in onVictim)
        {
            var (value, place) = await RetryUntilAnsweredAsync(grains.GetGrain<IPersistentCounterGrain>(key));
            Assert.Equal(key.Length, value);
            Assert.NotEqual(victimAddress, place);
        }
        answeredAfter = killedAt.Elapsed;

        // Figures for the docs; the bench measures them properly (SIGKILL of a process, median of 5).
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"with ConfigureFastFailureDetection: declared Dead after {deadAfter.TotalMilliseconds:F0} ms, {onVictim.Count} moved grains all answered after {answeredAfter.TotalMilliseconds:F0} ms");
        foreach (var survivor in silos[..2])
        {
            Assert.Equal(Active, await cluster.StatusInTableAsync(PostgresSiloHarness.AddressOf(survivor)));
        }
    }

    private static async Task<TimeSpan> WaitForStatusAsync(PostgresSiloHarness cluster, SiloAddress silo, int status)
    {
        var watch = Stopwatch.StartNew();
        while (await cluster.StatusInTableAsync(silo) != status)
        {
            if (watch.Elapsed > Patience) Assert.Fail($"{silo} not {status} in the membership table after {Patience}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        return watch.Elapsed;
    }

    // A call in flight when the silo died, or routed before the cluster knew, fails; callers retry (Orleans does not).
    private static async Task<(int Value, string Place)> RetryUntilAnsweredAsync(IPersistentCounterGrain grain)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return (await grain.Get(), await grain.Where());
            }
            catch (Exception e) when (e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException && watch.Elapsed < Patience)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
    }
}
