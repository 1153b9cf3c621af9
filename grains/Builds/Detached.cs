using System.Diagnostics;
using CloudDeck.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds;

/// <summary>
/// Work started from a grain turn that must not carry the turn's call chain: a call to a grain that is itself waiting
/// on this one (a deployment canceling its build, the queue granting a slot to a build that is enqueuing) would be
/// refused as a deadlock, although nobody awaits it. Without the chain it simply waits for the callee's next turn.
/// </summary>
internal static class Detached
{
    /// <param name="span">
    /// When set, the work runs in a span of that name whose parent is the current one: suppressing the flow drops the
    /// trace along with the call chain, and a build started by a request belongs in that request's trace.
    /// </param>
    public static Task Run(Func<Task> work, ILogger logger, string what, string? span = null)
    {
        var parent = span is null ? null : Activity.Current?.Context;
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(async () =>
            {
                using var activity = parent is { } context ? CloudDeckActivities.Source.StartActivity(span!, ActivityKind.Internal, context) : null;
                try
                {
                    await work();
                }
                catch (Exception e)
                {
                    activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
                    logger.LogWarning(e, "{What} failed", what);
                }
            });
        }
    }
}
