using CloudDeck.Api.OpenApi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CloudDeck.Api.Endpoints;

public static class HealthEndpoints
{
    public sealed record HealthView(string Status, int Activations, int Silos);

    /// <summary>How long /healthz waits for the cluster before it answers 503.</summary>
    private static readonly TimeSpan ClusterWait = TimeSpan.FromSeconds(5);

    /// <summary><c>/healthz</c>: 200 while the cluster answers, 503 otherwise (so a load balancer stops sending).</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", GetHealth)
            .Describe("getHealth", "Whether the cluster answers: silos and activations (503 when it does not)")
            .WithTags("Health")
            .Refuses(503)
            .AllowAnonymous();
        return app;
    }

    /// <summary>Silos and activations as Orleans' management grain counts them.</summary>
    public static async Task<Results<Ok<HealthView>, ProblemHttpResult>> GetHealth(IGrainFactory grains, CancellationToken cancellationToken)
    {
        try
        {
            var management = grains.GetGrain<IManagementGrain>(0);
            var silos = await management.GetHosts(onlyActive: true).WaitAsync(ClusterWait, cancellationToken);
            var activations = await management.GetTotalActivationCount().WaitAsync(ClusterWait, cancellationToken);
            return TypedResults.Ok(new HealthView("ok", activations, silos.Count));
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or InvalidOperationException or OperationCanceledException)
        {
            return TypedResults.Problem(title: "The cluster is not answering", detail: e.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
