using System.Collections.Concurrent;
using CloudDeck.GrainInterfaces.Diagnostics;

namespace CloudDeck.Cluster.Tests;

/// <summary>
/// Workers that keep incrementing persisted counters and remember what was acknowledged, so that after a
/// silo dies or joins the test can check that no acknowledged write was lost and count the failures.
/// </summary>
public sealed class LoadLoop
{
    private readonly ConcurrentDictionary<string, long> _acknowledged = new();
    private readonly ConcurrentDictionary<string, int> _failedPerKey = new();
    private readonly ConcurrentQueue<(DateTime At, string Error)> _failures = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _workers = [];
    private long _succeeded;

    /// <summary>How long a worker waits for one call before it counts it failed and moves on.</summary>
    public static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(2);

    public LoadLoop(IGrainFactory grains, string[] keys, int workers)
    {
        Keys = keys;
        for (var w = 0; w < workers; w++)
        {
            var worker = w;
            _workers.Add(Task.Run(async () =>
            {
                for (var n = worker; !_stop.IsCancellationRequested; n += workers)
                {
                    var key = keys[n % keys.Length];
                    try
                    {
                        // A call in flight to a silo that dies is never answered; Orleans' client waits out its 30 s response
                        // timeout for it. The worker gives up sooner, as an interactive caller would, and counts a failure.
                        var view = await grains.GetGrain<IPlacementProbeGrain>(key).Increment().WaitAsync(CallDeadline);
                        _acknowledged.AddOrUpdate(key, view.Count, (_, previous) => Math.Max(previous, view.Count));
                        Interlocked.Increment(ref _succeeded);
                    }
                    catch (Exception exception)
                    {
                        _failures.Enqueue((DateTime.UtcNow, $"{exception.GetType().Name}: {exception.Message}"));
                        _failedPerKey.AddOrUpdate(key, 1, (_, c) => c + 1);
                    }
                }
            }));
        }
    }

    public string[] Keys { get; }

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public IReadOnlyCollection<(DateTime At, string Error)> Failures => _failures;

    /// <summary>The highest count each key's grain acknowledged.</summary>
    public IReadOnlyDictionary<string, long> Acknowledged => _acknowledged;

    public int FailuresFor(string key) => _failedPerKey.GetValueOrDefault(key);

    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_workers);
    }

    public string DescribeFailures() => string.Join("\n", _failures.Take(20).Select(f => $"{f.At:HH:mm:ss.fff} {f.Error}"));
}
