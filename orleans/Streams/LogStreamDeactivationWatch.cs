using System.Diagnostics;
using Orleans.Runtime.Diagnostics;

namespace Actors.Extensions.Streams;

/// <summary>
/// Tells a log grain the moment Orleans starts deactivating it. Orleans finishes a deactivation only once no request runs, and
/// a read waiting at the stream's head is a running request; Orleans calls OnDeactivateAsync only after that, too late. Its
/// grain lifecycle diagnostic events come at the start, so the watch listens to those ("Deactivating" only) and wakes the
/// grain's waiting readers. One watch per process serves every silo in it; without it, the LiveWait bound still holds.
/// </summary>
internal sealed class LogStreamDeactivationWatch : IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    private const string DeactivatingEvent = "Deactivating";
    private static readonly Lazy<IDisposable> Subscription = new(() => DiagnosticListener.AllListeners.Subscribe(new LogStreamDeactivationWatch()));

    public static void EnsureStarted() => _ = Subscription.Value;

    public void OnNext(DiagnosticListener listener)
    {
        if (listener.Name == GrainLifecycleEvents.ListenerName)
        {
            listener.Subscribe(this, static (name, _, _) => name == DeactivatingEvent);
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Value is GrainLifecycleEvents.Deactivating { GrainContext.GrainInstance: LogStreamGrain grain })
        {
            grain.OnDeactivating();
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }
}
