using System.Diagnostics;
using Actors.Runtime;
using CloudDeck.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Actors.Bench;

/// <summary>
/// Remote calls between two silo processes on loopback beside a raw TCP echo of the same frames; latency at a
/// fixed rate; and the time from SIGKILL of a silo to the first successful call of one of its grains.
/// </summary>
internal static class ClusterBenchmarks
{
    private const int Callers = 256;
    private const double FixedRate = 20_000;

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        if (PostgresServer.FindBinDirectory() is null)
        {
            report.Note("Cluster benchmarks skipped: no PostgreSQL binaries (apt-get install postgresql).");
            return;
        }

        await using var server = await PostgresServer.StartAsync();
        var database = await server.CreateDatabaseAsync("bench");
        var clusterId = "bench" + Guid.NewGuid().ToString("N")[..6];
        var (remoteSilo, remoteAddress) = await BenchProcesses.StartAsync("--silo", database, clusterId);
        var (echoServer, echoPort) = await BenchProcesses.StartAsync("--echo");
        try
        {
            using var localSilo = await StartLocalSiloAsync(database, clusterId);
            var runtime = localSilo.Services.GetRequiredService<GrainRuntime>();
            while (runtime.Cluster!.View.ActiveCount < 2)
            {
                await Task.Delay(100);
            }

            // Only grains the other process owns: every call crosses the wire.
            var remote = SiloAddress.Parse(remoteAddress);
            var grains = Enumerable.Range(0, 20_000).Select(i => $"e{i}")
                .Where(key => runtime.Cluster.View.Owner(new GrainId("echo", key)) == remote).Take(1000)
                .Select(key => runtime.GetGrain<IEchoGrain>(key)).ToArray();
            var frameBytes = RequestFrameBytes(runtime, grains[0]);
            await using var echo = await RawEchoClient.ConnectAsync(int.Parse(echoPort, System.Globalization.CultureInfo.InvariantCulture), frameBytes);

            Task Grain(int caller, long n) => grains[(int)((caller * 7919 + n) % grains.Length)].Echo(1);
            Task Echo(int caller, long n) => echo.CallAsync();
            await Measure.ThroughputAsync(Callers, options.Warmup, Grain);
            await Measure.ThroughputAsync(Callers, options.Warmup, Echo);
            double grainRate = 0, echoRate = 0;
            for (var round = 0; round < options.Rounds; round++)
            {
                echoRate = Math.Max(echoRate, await Measure.ThroughputAsync(Callers, options.Duration, Echo));
                grainRate = Math.Max(grainRate, await Measure.ThroughputAsync(Callers, options.Duration, Grain));
            }

            report.Add($"remote grain calls/s (2 silo processes, {Callers} callers, {frameBytes}-byte requests)", grainRate,
                "raw TCP echo, same frames, one connection", echoRate);

            long counter = 0;
            var grainLatency = await Measure.LatencyAsync(FixedRate, options.Duration, () => grains[(int)(Interlocked.Increment(ref counter) % grains.Length)].Echo(1));
            var echoLatency = await Measure.LatencyAsync(FixedRate, options.Duration, echo.CallAsync);
            report.Note($"latency at {FixedRate:N0} calls/s: grain calls p50 {grainLatency.P50:F2} ms, p99 {grainLatency.P99:F2} ms; " +
                        $"raw TCP echo p50 {echoLatency.P50:F2} ms, p99 {echoLatency.P99:F2} ms");
        }
        finally
        {
            remoteSilo.Kill();
            echoServer.Kill();
        }

        var failovers = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            failovers.Add(await FailoverAsync(server).ConfigureAwait(false));
        }

        failovers.Sort();
        report.Note($"failover, SIGKILL to the first successful call of a moved grain: median {failovers[2]:F0} ms " +
                    $"(runs: {string.Join(", ", failovers.Select(f => f.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))} ms)");
    }

    private static async Task<IHost> StartLocalSiloAsync(string database, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddActorSilo(silo => silo.AddGrains(typeof(EchoGrain).Assembly).AddMemoryStorage()
            .UseCluster(o =>
            {
                o.ClusterId = clusterId;
                o.MembershipConnectionString = database;
                o.SiloPort = 0;
            }));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>The size on the wire of one request to <paramref name="grain"/>, so the echo baseline sends as much.</summary>
    private static int RequestFrameBytes(GrainRuntime runtime, IEchoGrain grain)
    {
        var request = new BenchEchoProbe();
        var message = new Message
        {
            Kind = MessageKind.Request, CorrelationId = 1_000_000, Target = ((GrainReference)grain).GrainId.ToString(),
            RequestType = "ActorsGenerated.Request_Actors_Bench_IEchoGrain_Echo_0, Actors.Bench", TimeoutMs = 29_999,
            Body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(request, runtime.Cluster!.Messages.Wire.Options),
        };
        using var stream = new MemoryStream();
        var writer = System.IO.Pipelines.PipeWriter.Create(stream);
        message.WriteTo(writer);
        writer.FlushAsync().AsTask().GetAwaiter().GetResult();
        return (int)stream.Length;
    }

    private sealed class BenchEchoProbe
    {
        public int Arg0 = 1;
    }

    /// <summary>Three silo processes and a client; kills the owner of a grain and times the first call that succeeds again.</summary>
    private static async Task<double> FailoverAsync(PostgresServer server)
    {
        var database = await server.CreateDatabaseAsync("failover");
        var clusterId = "fail" + Guid.NewGuid().ToString("N")[..6];
        var silos = new List<(Process Process, SiloAddress Address)>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var (process, address) = await BenchProcesses.StartAsync("--silo", database, clusterId);
                silos.Add((process, SiloAddress.Parse(address)));
            }

            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddActorClusterClient(o =>
            {
                o.ClusterId = clusterId;
                o.MembershipConnectionString = database;
            }, typeof(EchoGrain).Assembly);
            using var client = builder.Build();
            await client.StartAsync();
            var runtime = client.Services.GetRequiredService<GrainRuntime>();
            while (runtime.Cluster!.View.ActiveCount < 3)
            {
                await Task.Delay(100);
            }

            var victim = silos[1];
            var key = Enumerable.Range(0, 1000).Select(i => $"f{i}").First(k => runtime.Cluster.View.Owner(new GrainId("echo", k)) == victim.Address);
            var grain = runtime.GetGrain<IEchoGrain>(key);
            await grain.Echo(1);

            var clock = Stopwatch.StartNew();
            victim.Process.Kill();
            while (true)
            {
                try
                {
                    await grain.Echo(2);
                    break;
                }
                catch (SiloUnavailableException)
                {
                    // In flight when the silo died: the next call goes to the new owner.
                }
            }

            var elapsed = clock.Elapsed.TotalMilliseconds;
            await client.StopAsync();
            return elapsed;
        }
        finally
        {
            foreach (var (process, _) in silos)
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }
            }
        }
    }
}
