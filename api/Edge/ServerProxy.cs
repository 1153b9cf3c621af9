using System.Diagnostics;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Api.Edge;

/// <summary>
/// Answers a request for a server deployment by relaying it to the deployment's process: the endpoint comes from
/// <see cref="ServerEndpoints"/> (memory, or a cold start), the bytes go through <see cref="UpstreamForwarder"/>, and
/// a server that cannot be reached gets the edge's 502 page naming the deployment.
/// </summary>
public sealed class ServerProxy(ServerEndpoints endpoints, UpstreamForwarder forwarder, EdgeOptions options, ILogger<ServerProxy> logger)
{
    public async Task ProxyAsync(HttpContext http, string deploymentId)
    {
        http.Response.Headers[EdgePages.ServedByHeader] = deploymentId;

        Upstream upstream;
        try
        {
            upstream = await endpoints.GetAsync(deploymentId);
        }
        catch (Exception e)
        {
            await UnavailableAsync(http, deploymentId, e);
            return;
        }

        endpoints.Touch(deploymentId);
        var restartFailure = default(Exception);
        var started = Stopwatch.GetTimestamp();
        var outcome = await forwarder.ForwardAsync(http, upstream.Prefix, async () =>
        {
            try
            {
                upstream = await endpoints.RefreshAsync(deploymentId, upstream);
                return upstream.Prefix;
            }
            catch (Exception e)
            {
                restartFailure = e;
                return null;
            }
        });

        CloudDeckMetrics.UpstreamRelayed(OutcomeTag(outcome), Stopwatch.GetElapsedTime(started));
        if (outcome == ForwardOutcome.Forwarded || http.Response.HasStarted) return;
        if (restartFailure is not null)
        {
            await UnavailableAsync(http, deploymentId, restartFailure);
            return;
        }

        logger.LogWarning("Deployment {DeploymentId}: proxying {Method} {Path} to {Upstream} ended {Outcome}",
            deploymentId, http.Request.Method, http.Request.Path, upstream.Prefix, outcome);
        await RespondAsync(http, deploymentId, outcome, options);
    }

    /// <summary>The edge's page for a request that could not be forwarded: 504 when the server went silent, else 502.</summary>
    public static Task RespondAsync(HttpContext http, string deploymentId, ForwardOutcome outcome, EdgeOptions options) =>
        outcome == ForwardOutcome.TimedOut
            ? EdgePages.GatewayTimeoutAsync(http, deploymentId, Reason(outcome, options))
            : EdgePages.BadGatewayAsync(http, deploymentId, Reason(outcome, options));

    private static string OutcomeTag(ForwardOutcome outcome) => outcome switch
    {
        ForwardOutcome.Forwarded => "forwarded",
        ForwardOutcome.Unreachable => "unreachable",
        ForwardOutcome.TimedOut => "timed_out",
        _ => "failed",
    };

    /// <summary>What the 502 page says about an outcome: what happened, never where the upstream is.</summary>
    public static string Reason(ForwardOutcome outcome, EdgeOptions options) => outcome switch
    {
        ForwardOutcome.Unreachable => "The server is not accepting connections (it stopped or is restarting).",
        ForwardOutcome.TimedOut => $"The server did not answer within {options.ProxyTimeout.TotalSeconds:0.#} seconds.",
        _ => "The server closed the connection without a valid response.",
    };

    private async Task UnavailableAsync(HttpContext http, string deploymentId, Exception e)
    {
        if (e is ServerUnavailableException)
        {
            // The grain's message is written for the deployment's owner (why it did not start or pass its health check).
            logger.LogWarning("Deployment {DeploymentId}: the server is unavailable ({Reason})", deploymentId, e.Message);
            await EdgePages.BadGatewayAsync(http, deploymentId, e.Message);
            return;
        }

        logger.LogError(e, "Deployment {DeploymentId}: the server's endpoint could not be obtained", deploymentId);
        await EdgePages.BadGatewayAsync(http, deploymentId, "The server could not be started just now; try again in a moment.");
    }
}
