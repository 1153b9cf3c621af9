using System.Diagnostics;
using Actors.Extensions.CallChains;
using Orleans.TestingHost;

namespace Actors.Extensions.Tests.CallChains;

/// <summary>Two silos with <see cref="CallCycleDetectionExtensions.AddCallCycleDetection"/>, shared by the tests of this class.</summary>
public sealed class TwoSiloCluster : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) => silo.AddCallCycleDetection());
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync() => await Cluster.DisposeAsync();
}

public sealed class CallCycleTests(TwoSiloCluster cluster) : IClassFixture<TwoSiloCluster>
{
    private static Hop Plain(string key, HopMethod method = HopMethod.Plain) => new(false, key, method);

    private static Hop Reentrant(string key) => new(true, key);

    [Fact]
    public async Task A_to_B_to_A_between_non_reentrant_grains_fails_at_once_naming_the_cycle()
    {
        var (a, b) = Keys("a", "b");
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<CallCycleException>(() => cluster.Client.GetGrain<IPlainHopGrain>(a).Hop([Plain(b), Plain(a)]));

        TestContext.Current.TestOutputHelper?.WriteLine($"A→B→A refused after {watch.ElapsedMilliseconds} ms");
        var expected = $"plainhop/{a}/Hop → plainhop/{b}/Hop → plainhop/{a}/Hop";
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Equal([$"plainhop/{a}/Hop", $"plainhop/{b}/Hop", $"plainhop/{a}/Hop"], error.Cycle);
    }

    [Fact]
    public async Task A_grain_calling_itself_fails_naming_the_self_call()
    {
        var (a, _) = Keys("self", "unused");

        var error = await Assert.ThrowsAsync<CallCycleException>(() => cluster.Client.GetGrain<IPlainHopGrain>(a).Hop([Plain(a)]));

        Assert.Contains($"plainhop/{a}/Hop → plainhop/{a}/Hop", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_longer_cycle_names_only_the_calls_in_the_cycle()
    {
        var (entry, a) = Keys("entry", "a");
        var (b, c) = Keys("b", "c");

        var error = await Assert.ThrowsAsync<CallCycleException>(() =>
            cluster.Client.GetGrain<IPlainHopGrain>(entry).Hop([Plain(a), Plain(b), Plain(c), Plain(a)]));

        Assert.Equal([$"plainhop/{a}/Hop", $"plainhop/{b}/Hop", $"plainhop/{c}/Hop", $"plainhop/{a}/Hop"], error.Cycle);
    }

    [Fact]
    public async Task Reentrant_grains_in_a_cycle_still_answer()
    {
        var (a, b) = Keys("ra", "rb");

        var path = await cluster.Client.GetGrain<IReentrantHopGrain>(a).Hop([Reentrant(b), Reentrant(a), Reentrant(b)]);

        Assert.Equal($"{a} > {b} > {a} > {b}", path);
    }

    [Fact]
    public async Task Methods_that_interleave_may_re_enter_a_waiting_grain()
    {
        var (a, b) = Keys("ia", "ib");

        // [AlwaysInterleave] always may; [ReadOnly] may when the waiting call is [ReadOnly] too.
        var interleaved = await cluster.Client.GetGrain<IPlainHopGrain>(a).Hop([Plain(b), Plain(a, HopMethod.AlwaysInterleave)]);
        var readOnly = await cluster.Client.GetGrain<IPlainHopGrain>(a).HopReadOnly([Plain(b), Plain(a, HopMethod.ReadOnly)]);

        Assert.Equal($"{a} > {b} > {a}", interleaved);
        Assert.Equal($"{a} > {b} > {a}", readOnly);
    }

    [Fact]
    public async Task A_read_only_call_into_a_grain_waiting_in_a_writing_call_is_still_a_cycle()
    {
        var (a, b) = Keys("wa", "wb");

        var error = await Assert.ThrowsAsync<CallCycleException>(() => cluster.Client.GetGrain<IPlainHopGrain>(a).Hop([Plain(b), Plain(a, HopMethod.ReadOnly)]));

        Assert.Contains($"plainhop/{a}/Hop → plainhop/{b}/Hop → plainhop/{a}/HopReadOnly", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chain_that_does_not_cycle_works_and_so_does_calling_the_same_grain_again_after_the_chain()
    {
        var (a, b) = Keys("na", "nb");
        var (c, d) = Keys("nc", "nd");

        var path = await cluster.Client.GetGrain<IPlainHopGrain>(a).Hop([Plain(b), Plain(c), Plain(d)]);
        var again = await cluster.Client.GetGrain<IPlainHopGrain>(b).Hop([Plain(a)]);

        Assert.Equal($"{a} > {b} > {c} > {d}", path);
        Assert.Equal($"{b} > {a}", again);
    }

    [Fact]
    public async Task Cycles_across_two_silos_are_refused_and_chains_across_them_work()
    {
        // Grains spread randomly over the two silos: look for pairs that landed apart.
        var apart = new List<(string A, string B)>();
        for (var i = 0; apart.Count < 3 && i < 100; i++)
        {
            var (a, b) = Keys("xa" + i, "xb" + i);
            if (await cluster.Client.GetGrain<IPlainHopGrain>(a).Where() != await cluster.Client.GetGrain<IPlainHopGrain>(b).Where()) apart.Add((a, b));
        }
        Assert.Equal(3, apart.Count);

        foreach (var (a, b) in apart)
        {
            var error = await Assert.ThrowsAsync<CallCycleException>(() => cluster.Client.GetGrain<IPlainHopGrain>(a).Hop([Plain(b), Plain(a)]));
            Assert.Contains($"plainhop/{a}/Hop → plainhop/{b}/Hop → plainhop/{a}/Hop", error.Message, StringComparison.Ordinal);
            Assert.Equal($"{a} > {b}", await cluster.Client.GetGrain<IPlainHopGrain>(a).Hop([Plain(b)]));
        }
    }

    private static (string, string) Keys(string first, string second)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        return ($"{first}-{run}", $"{second}-{run}");
    }
}
