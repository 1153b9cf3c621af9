using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Builds;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Servers;

/// <summary>
/// The server half of a zero-downtime swap, shared by promote, rollback and a production deploy: the new deployment's
/// server is healthy before the alias moves (<see cref="EnsureRunningAsync"/>), and the old one keeps serving the
/// requests in flight for the drain grace before it stops (<see cref="Retire"/>). Static deployments pass through.
/// </summary>
public static class ServerSwap
{
    /// <summary>
    /// EnsureRunning until it answers, for up to the health check's deadline: one call may end in the runtime's response
    /// timeout while the start it joined goes on in the server grain, so a timed-out call is simply made again.
    /// </summary>
    public static async Task<ServerEndpoint> EnsureRunningAsync(IGrainFactory grains, string deploymentId, ServerOptions options)
    {
        var deadline = DateTimeOffset.UtcNow + options.HealthCheckTimeout + TimeSpan.FromSeconds(5);
        var server = grains.GetGrain<IServerGrain>(deploymentId);
        while (true)
        {
            try
            {
                return await server.EnsureRunning();
            }
            catch (TimeoutException) when (DateTimeOffset.UtcNow < deadline)
            {
            }
        }
    }

    /// <summary>Starts <paramref name="deploymentId"/>'s server when it is one; false for a static deployment.</summary>
    /// <exception cref="ConflictException">The server did not become healthy: the alias must not move (the message says why).</exception>
    public static async Task<bool> PrepareAsync(IGrainFactory grains, string deploymentId, ServerOptions options)
    {
        if (await grains.GetGrain<IDeploymentGrain>(deploymentId).GetServerLaunch() is null) return false;
        try
        {
            await EnsureRunningAsync(grains, deploymentId, options);
        }
        catch (ServerUnavailableException e)
        {
            throw new ConflictException($"Production stays where it is: {e.Message}");
        }

        return true;
    }

    /// <summary>
    /// Stops the server of the deployment production no longer serves, after the drain grace, outside the caller's turn
    /// (the caller answers at once; the old server finishes its requests meanwhile). Nothing for a static deployment.
    /// </summary>
    public static void Retire(IGrainFactory grains, string? previousId, string currentId, ServerOptions options, ILogger logger)
    {
        if (previousId is null || previousId == currentId) return;
        _ = Detached.Run(async () =>
        {
            if (await grains.GetGrain<IDeploymentGrain>(previousId).GetServerLaunch() is null) return;
            await grains.GetGrain<IServerGrain>(previousId).Stop(options.DrainGrace);
        }, logger, $"Stopping the server of deployment {previousId} after the swap to {currentId}");
    }
}
