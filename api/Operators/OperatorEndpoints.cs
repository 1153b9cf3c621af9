using CloudDeck.Api.Authentication;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.Grains.Accounts;
using Orleans.Dashboard;

namespace CloudDeck.Api.Operators;

/// <summary>
/// What only platform operators see (<see cref="IPlatformOperatorsGrain"/>): the Orleans dashboard at
/// <see cref="DashboardPath"/>, and <c>/metrics</c> (through <see cref="IsOperatorAsync"/>). Anyone else who is signed
/// in gets 404, as for another tenant's resource: an organization's owner learns nothing of the platform.
/// </summary>
public static class OperatorEndpoints
{
    public const string DashboardPath = "/_operator/dashboard";

    /// <summary>The dashboard's grain state viewer shows stored state as is: password hashes, token hashes, encrypted secrets.</summary>
    private const string GrainStatePath = DashboardPath + "/GrainState";

    public static async Task<bool> IsOperatorAsync(HttpContext http)
    {
        if (http.User.Identity?.IsAuthenticated != true) return false;
        var grains = http.RequestServices.GetRequiredService<IGrainFactory>();
        return await grains.GetGrain<IPlatformOperatorsGrain>(IPlatformOperatorsGrain.Key).IsOperator(http.Caller());
    }

    public static IEndpointRouteBuilder MapOperatorEndpoints(this IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<OperatorOptions>().Dashboard) return app;
        app.MapOrleansDashboard(DashboardPath)
            .RequireAuthorization()
            .AddEndpointFilter(async (context, next) =>
            {
                var http = context.HttpContext;
                if (!await IsOperatorAsync(http)) return NotFound();
                return http.Request.Path.StartsWithSegments(GrainStatePath, StringComparison.OrdinalIgnoreCase)
                    ? Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not available",
                        detail: "CloudDeck hides the dashboard's grain state viewer: stored state holds password and token hashes and encrypted secrets.")
                    : await next(context);
            })
            .ExcludeFromDescription();
        return app;
    }

    private static IResult NotFound() => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "No such resource.");
}
