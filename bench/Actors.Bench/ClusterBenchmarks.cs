using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using CloudDeck.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Actors.Bench;

/// <summary>
/// Remote calls between two silo processes on loopback (membership in PostgreSQL) beside a raw TCP echo of frames of the
/// same size; latency at a fixed rate; and the time from SIGKILL of a silo to the first successful call of one of its grains.
/// </summary>
internal static partial class ClusterBenchmarks
{
    private const int Callers = 256;
    private const int GrainCount = 1000;
    private const double FixedRate = 20_000;
    private const int FailoverRuns = 5;

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        if (PostgresServer.FindBinDirectory() is null)
        {
            report.Note("Cluster benchmarks skipped: no PostgreSQL binaries (apt-get install postgresql).");
            return;
        }

        await using var server = await PostgresServer.StartAsync();
        await RemoteCallsAsync(options, report, await server.CreateDatabaseAsync("bench"));

        var failovers = new List<double>();
        for (var run = 0; run < FailoverRuns; run++)
        {
            failovers.Add(await FailoverAsync(await server.CreateDatabaseAsync("failover")));
        }

        failovers.Sort();
        report.Note($"failover, SIGKILL of a silo process (3 silos + a client) to the first successful call of one of its grains: " +
                    $"median {failovers[FailoverRuns / 2]:F0} ms (target 5,000; runs: " +
                    $"{string.Join(", ", failovers.Select(f => f.ToString("F0", CultureInfo.InvariantCulture)))} ms)");
    }

    private static async Task RemoteCallsAsync(BenchOptions options, Report report, string database)
    {
        var clusterId = "bench" + Guid.NewGuid().ToString("N")[..6];
        var (remoteSilo, remoteAddress) = await BenchProcesses.StartAsync("--silo", database, clusterId);
        var (echoServer, echoPort) = await BenchProcesses.StartAsync("--echo");
        try
        {
            // This process's silo does not host echo grains, so each one activates in the other process and every call crosses the wire.
            using var localSilo = await BenchSilo.StartAsync(database, clusterId, hostsEcho: false);
            var factory = localSilo.Services.GetRequiredService<IGrainFactory>();
            await WaitForEchoHostAsync(factory);
            var grains = Enumerable.Range(0, GrainCount).Select(i => factory.GetGrain<IEchoGrain>($"e{i}")).ToArray();
            await Task.WhenAll(grains.Select(g => g.Echo(0)));
            var host = await grains[0].Host();
            if (host != remoteAddress)
            {
                throw new InvalidOperationException($"Echo grain e0 lives on {host}, not on the other process ({remoteAddress}).");
            }

            Task Grain(int caller, long n) => grains[(int)((caller * 7919 + n) % grains.Length)].Echo(1);
            await Measure.ThroughputAsync(Callers, options.Warmup, Grain);
            var (frameBytes, measured) = await RequestBytesAsync(SiloAddress.FromParsableString(remoteAddress).Endpoint.Port,
                localSilo.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.Endpoint.Port, Grain);
            await using var echo = await RawEchoClient.ConnectAsync(int.Parse(echoPort, CultureInfo.InvariantCulture), frameBytes);
            Task Echo(int caller, long n) => echo.CallAsync();
            await Measure.ThroughputAsync(Callers, options.Warmup, Echo);

            var (grainRate, echoRate) = await Measure.AlternateAsync(options,
                () => Measure.ThroughputAsync(Callers, options.Duration, Grain),
                () => Measure.ThroughputAsync(Callers, options.Duration, Echo));
            report.Add($"remote grain calls/s (2 silo processes, {Callers} callers, {GrainCount} grains, {frameBytes}-byte requests{(measured ? "" : ", assumed")})", grainRate,
                "raw TCP echo, same frame size, one connection", echoRate);

            long counter = 0;
            var grainLatency = await Measure.LatencyAsync(FixedRate, options.Duration, () => grains[(int)(Interlocked.Increment(ref counter) % grains.Length)].Echo(1));
            var echoLatency = await Measure.LatencyAsync(FixedRate, options.Duration, echo.CallAsync);
            report.Note($"latency at {FixedRate:N0} calls/s: remote grain calls p50 {grainLatency.P50:F2} ms, p99 {grainLatency.P99:F2} ms; " +
                        $"raw TCP echo p50 {echoLatency.P50:F2} ms, p99 {echoLatency.P99:F2} ms");
            await localSilo.StopAsync();
        }
        finally
        {
            remoteSilo.Kill();
            echoServer.Kill();
        }
    }

    /// <summary>
    /// Echo grains can only be addressed, and called, once the other silo's grain types reached this silo's cluster
    /// manifest (this one hosts none of them).
    /// </summary>
    private static async Task WaitForEchoHostAsync(IGrainFactory factory)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await factory.GetGrain<IEchoGrain>("e0").Echo(0);
                return;
            }
            catch (Exception) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// The size of one request on the wire: the bytes the other silo's sockets received (TCP's own count, read with
    /// <c>ss</c>) over a fixed number of calls, so the echo baseline sends frames as large. Membership probes in the
    /// same window are a rounding error. Without <c>ss</c> (not Linux, iproute2 missing), 128 bytes is assumed.
    /// </summary>
    private static async Task<(int Bytes, bool Measured)> RequestBytesAsync(int remotePort, int localPort, Func<int, long, Task> call)
    {
        const int perCaller = 200;
        var before = await ReceivedBytesAsync(remotePort, localPort);
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(async caller =>
        {
            for (var n = 0; n < perCaller; n++)
            {
                await call(caller, n);
            }
        }));
        var after = await ReceivedBytesAsync(remotePort, localPort);
        return before is { } b && after is { } a && a > b ? ((int)((a - b) / (Callers * perCaller)), true) : (128, false);
    }

    /// <summary>What the other silo received on its sockets: those it accepted (its port) and those it opened to this silo.</summary>
    private static async Task<long?> ReceivedBytesAsync(int remotePort, int localPort)
    {
        try
        {
            var start = new ProcessStartInfo("ss") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in new[] { "-tinH", "state", "established", $"( sport = :{remotePort} or dport = :{localPort} )" })
            {
                start.ArgumentList.Add(argument);
            }

            using var ss = Process.Start(start)!;
            var output = await ss.StandardOutput.ReadToEndAsync();
            await ss.WaitForExitAsync();
            return ss.ExitCode != 0 ? null : ReceivedPattern().Matches(output).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    [GeneratedRegex(@"bytes_received:(\d+)")]
    private static partial Regex ReceivedPattern();

    /// <summary>Three silo processes and a client; kills the silo of a grain and times the first call that succeeds again.</summary>
    private static async Task<double> FailoverAsync(string database)
    {
        var clusterId = "fail" + Guid.NewGuid().ToString("N")[..6];
        var silos = new List<(Process Process, string Address)>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                silos.Add(await BenchProcesses.StartAsync("--silo", database, clusterId));
            }

            using var client = await BenchSilo.StartClientAsync(database, clusterId);
            var factory = client.Services.GetRequiredService<IClusterClient>();
            var management = factory.GetGrain<IManagementGrain>(0);
            while ((await management.GetHosts(onlyActive: true)).Count < 3)
            {
                await Task.Delay(100);
            }

            var grain = factory.GetGrain<IEchoGrain>("moving-" + Guid.NewGuid().ToString("N")[..6]);
            var before = await grain.Host();
            var victim = silos.Single(s => s.Address == before);

            var clock = Stopwatch.StartNew();
            victim.Process.Kill();
            while (true)
            {
                try
                {
                    // A call in flight to the dead silo may hang until the response timeout: give up on it and ask again.
                    await grain.Echo(2).WaitAsync(TimeSpan.FromSeconds(1));
                    break;
                }
                catch (Exception) when (clock.Elapsed < TimeSpan.FromMinutes(2))
                {
                    await Task.Delay(10);
                }
            }

            var elapsed = clock.Elapsed.TotalMilliseconds;
            var after = await grain.Host();
            if (after == before)
            {
                throw new InvalidOperationException($"The grain answered from the killed silo {before}.");
            }

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
