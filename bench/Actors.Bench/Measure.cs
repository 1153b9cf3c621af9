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

    public static double Ratio(double value, double baseline) => baseline == 0 ? 0 : value / baseline;
}
