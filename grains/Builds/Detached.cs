using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds;

/// <summary>
/// Work started from a grain turn that must not carry the turn's call chain: a call to a grain that is itself waiting
/// on this one (a deployment canceling its build, the queue granting a slot to a build that is enqueuing) would be
/// refused as a deadlock, although nobody awaits it. Without the chain it simply waits for the callee's next turn.
/// </summary>
internal static class Detached
{
    public static Task Run(Func<Task> work, ILogger logger, string what)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(async () =>
            {
                try
                {
                    await work();
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "{What} failed", what);
                }
            });
        }
    }
}
