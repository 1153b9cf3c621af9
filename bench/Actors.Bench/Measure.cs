using System.Diagnostics;

namespace Actors.Bench;

internal static class Measure
{
    /// <summary>Runs <paramref name="callers"/> loops of <paramref name="call"/> for the duration; returns calls per second.</summary>
    public static async Task<double> ThroughputAsync(int callers, TimeSpan duration, Func<int, long, Task> call)
    {
        using var stop = new CancellationTokenSource();
        var counts = new long[callers * 16]; // padded: one cache line per caller
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loops = Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            await start.Task;
            long n = 0;
            while (!stop.IsCancellationRequested)
            {
                await call(caller, n);
                n++;
            }

            counts[caller * 16] = n;
        })).ToArray();

        var stopwatch = Stopwatch.StartNew();
        start.SetResult();
        await Task.Delay(duration);
        stop.Cancel();
        await Task.WhenAll(loops);
        stopwatch.Stop();
        return counts.Sum() / stopwatch.Elapsed.TotalSeconds;
    }

    /// <summary>Rounds in alternation, best of each, so drift on a shared machine hits both sides alike.</summary>
    public static async Task<(double Measured, double Baseline)> AlternateAsync(BenchOptions options, Func<Task<double>> measured, Func<Task<double>> baseline)
    {
        double best = 0, bestBaseline = 0;
        for (var round = 0; round < options.Rounds; round++)
        {
            bestBaseline = Math.Max(bestBaseline, await baseline());
            best = Math.Max(best, await measured());
        }

        return (best, bestBaseline);
    }

    public static double Ratio(double value, double baseline) => baseline == 0 ? 0 : value / baseline;

    /// <summary>
    /// Open loop: a pacing thread issues calls on schedule whatever the answers do (so slow answers cannot slow
    /// the offered load), and each call's latency is taken from its scheduled send time.
    /// </summary>
    public static async Task<(double P50, double P99)> LatencyAsync(double rate, TimeSpan duration, Func<Task> call)
    {
        var total = (int)(rate * duration.TotalSeconds);
        var latencies = new double[total];
        var calls = new Task[total];
        var clock = Stopwatch.StartNew();
        var pacer = new Thread(() =>
        {
            for (var i = 0; i < total; i++)
            {
                var due = i / rate * 1000;
                while (clock.Elapsed.TotalMilliseconds < due)
                {
                    if (due - clock.Elapsed.TotalMilliseconds > 1.5)
                    {
                        Thread.Sleep(1);
                    }
                    else
                    {
                        Thread.SpinWait(20);
                    }
                }

                var index = i;
                var sent = clock.Elapsed.TotalMilliseconds;
                calls[i] = call().ContinueWith(_ => latencies[index] = clock.Elapsed.TotalMilliseconds - sent, TaskScheduler.Default);
            }
        }) { IsBackground = true, Priority = ThreadPriority.AboveNormal };
        pacer.Start();
        await Task.Run(pacer.Join);
        await Task.WhenAll(calls);
        Array.Sort(latencies);
        return (latencies[total / 2], latencies[(int)(total * 0.99)]);
    }
}
