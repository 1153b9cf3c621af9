using System.Collections.Concurrent;
using Orleans.Concurrency;

namespace Actors.Extensions.Streams;

/// <summary>
/// How a subscription made inside a grain delivers on the grain's own turns: each batch is a one-way call to this extension
/// of the subscribing activation, so Orleans queues it like any request (it never overlaps the grain's other work, and a
/// reentrant grain interleaves it as it would a request). One-way, so a grain busy for longer than the response timeout
/// delays its deliveries instead of failing them.
/// </summary>
[Alias("actors.log.ILogDeliveryExtension")]
internal interface ILogDeliveryExtension : IGrainExtension
{
    [OneWay, Alias("deliver")]
    Task Deliver(Guid work);
}

internal sealed class LogDeliveryExtension : ILogDeliveryExtension
{
    /// <summary>
    /// One-way messages are at most once: a delivery the activation has not picked up within this time is sent again (a
    /// repeat finds its work taken and does nothing, so the work still runs once).
    /// </summary>
    private static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<Guid, (Func<Task> Call, TaskCompletionSource Started, TaskCompletionSource Done)> _work = new();

    /// <summary>Installs the extension on the current activation (call on its turn) and returns how to run work on its turns.</summary>
    public static Func<Func<Task>, CancellationToken, Task> InstallOn(IGrainContext activation)
    {
        var binder = activation.GetComponent<IGrainExtensionBinder>()
            ?? throw new InvalidOperationException($"{activation.GrainId} cannot take grain extensions; subscribe from outside the grain.");
        var (extension, reference) = binder.GetOrSetExtension<LogDeliveryExtension, ILogDeliveryExtension>(() => new LogDeliveryExtension());
        return (call, stop) => extension.RunAsync(reference, call, stop);
    }

    public async Task Deliver(Guid work)
    {
        if (!_work.TryRemove(work, out var entry))
        {
            return;
        }

        entry.Started.TrySetResult();
        try
        {
            await entry.Call();
            entry.Done.TrySetResult();
        }
        catch (Exception exception)
        {
            entry.Done.TrySetException(exception);
        }
    }

    private async Task RunAsync(ILogDeliveryExtension self, Func<Task> call, CancellationToken stop)
    {
        var id = Guid.NewGuid();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _work[id] = (call, started, done);
        try
        {
            await self.Deliver(id);
            while (!started.Task.IsCompleted)
            {
                if (await Task.WhenAny(started.Task, Task.Delay(ResendAfter, stop)) != started.Task && !started.Task.IsCompleted)
                {
                    stop.ThrowIfCancellationRequested();
                    await self.Deliver(id);
                }
            }

            await done.Task.WaitAsync(stop);
        }
        finally
        {
            _work.TryRemove(id, out _);
        }
    }
}
