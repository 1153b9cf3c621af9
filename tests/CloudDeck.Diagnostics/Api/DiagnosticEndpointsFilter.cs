using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace CloudDeck.Api.Endpoints;

/// <summary>
/// Serves <c>/_diag/*</c> from a branch that runs before the API's own pipeline, so the shipped Program maps nothing
/// diagnostic. The branch repeats what these endpoints need of that pipeline: ProblemDetails for errors and status codes,
/// routing, and the bearer authentication and authorization <c>POST /_diag/builds</c> requires. UseWhen rather than Map:
/// the path keeps its <c>/_diag</c> prefix, so the routes read as callers (and the authorization matrix) name them, and a
/// path no diagnostic endpoint matches falls through to the API's pipeline and its 404.
/// </summary>
internal sealed class DiagnosticEndpointsFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/_diag"), diagnostics =>
        {
            diagnostics.UseExceptionHandler();
            diagnostics.UseStatusCodePages();
            diagnostics.UseRouting();
            diagnostics.UseAuthentication();
            diagnostics.UseAuthorization();
            diagnostics.UseEndpoints(endpoints =>
            {
                endpoints.MapProbeEndpoints();
                endpoints.MapDiagnosticBuildEndpoints();
                endpoints.MapOutboxEndpoints();
            });
        });
        next(app);
    };
}
