using Actors.Runtime;

namespace CloudDeck.Api.Endpoints;

public static class HealthEndpoints
{
    public sealed record HealthView(string Status, int Activations, int Silos);

    /// <summary><c>/healthz</c>: 200 while the silo runs, 503 otherwise (so a load balancer stops sending).</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", (SiloHealth silo) => silo.IsRunning
                ? Results.Ok(new HealthView("ok", silo.ActivationCount, silo.ActiveSilos))
                : Results.Problem(title: "The silo is not running", statusCode: StatusCodes.Status503ServiceUnavailable))
            .WithName("Health")
            .AllowAnonymous();
        return app;
    }
}
