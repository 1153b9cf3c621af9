using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Runtime;

namespace Actors.Extensions.Resilience;

/// <summary>
/// Sends a grain call again when Orleans rejected it without running it: a silo that is shutting down rejects the
/// requests that reach it ("Silo stopping") instead of handing them to the grain's next activation, so without this a
/// graceful stop (SIGTERM) fails the calls that were on their way to it. A rejection means the grain never saw the
/// request, so sending it again cannot run it twice.
/// </summary>
public sealed partial class RejectedCallRetry(ILogger<RejectedCallRetry> logger) : IOutgoingGrainCallFilter
{
    /// <summary>Attempts after the first; with the growing pause below they span about 3 s, a silo's hand-off time.</summary>
    public const int MaxRetries = 8;

    private static readonly TimeSpan PauseStep = TimeSpan.FromMilliseconds(75);

    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await context.Invoke();
                return;
            }
            catch (OrleansMessageRejectionException rejected) when (attempt < MaxRetries)
            {
                LogRetrying(logger, context.TargetId, context.MethodName, attempt + 1, rejected.Message);
                await Task.Delay(PauseStep * (attempt + 1));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Call {Method} to {Grain} was rejected without running ({Reason}); sending it again (retry {Attempt})")]
    private static partial void LogRetrying(ILogger logger, GrainId grain, string method, int attempt, string reason);
}

public static class RejectedCallRetryExtensions
{
    /// <summary>Calls from this silo's grains that a stopping silo rejected are sent again (see <see cref="RejectedCallRetry"/>).</summary>
    public static ISiloBuilder AddRejectedCallRetry(this ISiloBuilder builder) => builder.AddOutgoingGrainCallFilter<RejectedCallRetry>();

    /// <summary>Calls from this client that a stopping silo rejected are sent again (see <see cref="RejectedCallRetry"/>).</summary>
    public static IClientBuilder AddRejectedCallRetry(this IClientBuilder builder) => builder.AddOutgoingGrainCallFilter<RejectedCallRetry>();
}
