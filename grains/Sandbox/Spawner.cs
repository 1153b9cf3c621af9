using System.Collections.Concurrent;
using System.Diagnostics;

namespace CloudDeck.Grains.Sandbox;

/// <summary>
/// Starts sandbox processes from one thread that lives as long as the silo. The sandbox's guard against outliving the
/// silo is the parent-death signal (bwrap <c>--die-with-parent</c>, <c>setpriv --pdeathsig</c>), and Linux sends it when
/// the parent <em>thread</em> ends: a process started from a thread-pool thread would be killed when the pool retires
/// that idle thread, in the middle of a build or a server's life.
/// </summary>
internal static class Spawner
{
    private static readonly BlockingCollection<(ProcessStartInfo Info, TaskCompletionSource<Process> Started)> Queue = [];

    private static readonly Lazy<Thread> Worker = new(() =>
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "clouddeck-sandbox-spawner" };
        thread.Start();
        return thread;
    });

    public static Task<Process> StartAsync(ProcessStartInfo info)
    {
        _ = Worker.Value;
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue.Add((info, started));
        return started.Task;
    }

    private static void Run()
    {
        foreach (var (info, started) in Queue.GetConsumingEnumerable())
        {
            try
            {
                started.SetResult(Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}."));
            }
            catch (Exception e)
            {
                started.SetException(e);
            }
        }
    }
}
