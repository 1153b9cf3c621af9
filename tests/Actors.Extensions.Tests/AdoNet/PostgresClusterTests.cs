using System.Diagnostics;
using Actors.Extensions.AdoNet;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;

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
    }

    [Fact]
    public async Task A_SIGKILLed_silo_is_declared_Dead_by_the_others_and_its_grains_answer_elsewhere_with_their_state()
    {
        await using var cluster = await PostgresSiloHarness.CreateAsync(postgres, "cluster_kill");
        var survivors = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => cluster.StartSiloAsync(s => s.ConfigureFastFailureDetection())));
        var (victim, victimSilo) = await cluster.StartSiloProcessAsync(fastFailureDetection: true);
        var victimAddress = victimSilo.ToString();
        var client = await cluster.StartClientAsync();
        var grains = client.Services.GetRequiredService<IClusterClient>();

        // Counters with state, some of them living on the victim.
        var keys = Enumerable.Range(0, 30).Select(i => "kill-" + i).ToArray();
        foreach (var key in keys) await grains.GetGrain<IPersistentCounterGrain>(key).Add(key.Length);
        var onVictim = new List<string>();
        foreach (var key in keys)
        {
            if (await grains.GetGrain<IPersistentCounterGrain>(key).Where() == victimAddress) onVictim.Add(key);
        }
        Assert.NotEmpty(onVictim);

        victim.Kill(Signal.SIGKILL);
        var killedAt = Stopwatch.StartNew();

        var declaredDead = WaitForStatusAsync(cluster, victimSilo, Dead, killedAt);
        var answered = await Task.WhenAll(onVictim.Select(async key =>
        {
            var (value, place) = await RetryUntilAnsweredAsync(grains.GetGrain<IPersistentCounterGrain>(key));
            return (Key: key, Value: value, Place: place, At: killedAt.Elapsed);
        }));
        var deadAfter = await declaredDead;

        Assert.True(await victim.WaitForExitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.Equal(137, victim.ExitCode);
        foreach (var (key, value, place, _) in answered)
        {
            Assert.Equal(key.Length, value);
            Assert.NotEqual(victimAddress, place);
        }
        foreach (var survivor in survivors)
        {
            Assert.Equal(Active, await cluster.StatusInTableAsync(PostgresSiloHarness.AddressOf(survivor)));
        }
        // Figures for the docs only: the bench measures them (median of 5), tests assert no timing.
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"ConfigureFastFailureDetection, 3 silos: SIGKILL -> Dead in the table after {deadAfter.TotalMilliseconds:F0} ms; "
            + $"{answered.Length} grains of the killed silo all answered elsewhere after {answered.Max(a => a.At).TotalMilliseconds:F0} ms");
    }

    private static async Task<TimeSpan> WaitForStatusAsync(PostgresSiloHarness cluster, SiloAddress silo, int status, Stopwatch watch)
    {
        while (await cluster.StatusInTableAsync(silo) != status)
        {
            if (watch.Elapsed > Patience) Assert.Fail($"{silo} not {status} in the membership table after {Patience}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        return watch.Elapsed;
    }

    // A call routed to the killed silo before the cluster knew fails (refused connection) or, when it was
    // already on the wire to the killed gateway, is never answered: a client waits ResponseTimeout (30 s) for
    // it. So each attempt gets a short deadline and the caller retries, as a product caller should (Orleans does not retry).
    private static async Task<(int Value, string Place)> RetryUntilAnsweredAsync(IPersistentCounterGrain grain)
    {
        var watch = Stopwatch.StartNew();
        var attemptDeadline = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                return (await grain.Get().WaitAsync(attemptDeadline), await grain.Where().WaitAsync(attemptDeadline));
            }
            catch (Exception e) when (e is SiloUnavailableException or OrleansMessageRejectionException or ConnectionFailedException or TimeoutException
                                       && watch.Elapsed < Patience)
            {
                await Task.Delay(50, TestContext.Current.CancellationToken);
            }
        }
    }
}
