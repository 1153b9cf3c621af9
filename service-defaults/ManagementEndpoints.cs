using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CloudDeck.ServiceDefaults;

/// <summary>
/// <c>/healthz</c> (live), <c>/readyz</c> (ready) and <c>/metrics</c> (Prometheus text): on the public port, where
/// <c>/metrics</c> needs the metrics token or an operator, and on the management port, which answers nothing else.
/// </summary>
public static class ManagementEndpoints
{
    public const string MetricsPath = "/metrics";
    public const string ReadyPath = "/readyz";
    public const string LivePath = "/healthz";

    /// <summary>The silo host's web server when a management port is set: Kestrel on that port alone, whatever the URLs say.</summary>
    public static void ListenOnManagementPortOnly(this IWebHostBuilder web, ManagementOptions management) =>
        web.ConfigureKestrel(kestrel => kestrel.Listen(management.ListenIPAddress, management.Port
            ?? throw new InvalidOperationException($"{ManagementOptions.Section}:Port is not set.")));

    /// <summary>
    /// A process with a public port too (the API): adds the management port to the addresses it listens on. Keeps the
    /// configured URLs (Kestrel ignores them once an endpoint is configured in code, so the port joins them as a URL).
    /// </summary>
    public static void AddManagementUrl(this IWebHostBuilder web, ManagementOptions management, string publicUrls)
    {
        if (management.Port is not { } port) return;
        var host = management.ListenIPAddress.Equals(System.Net.IPAddress.Any) ? "0.0.0.0" : management.ListenIPAddress.ToString();
        if (management.ListenIPAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) host = $"[{host}]";
        web.UseUrls($"{publicUrls};http://{host}:{port}");
    }

    /// <summary>Requests that arrive on the management port get the management endpoints and nothing else (no API, no edge).</summary>
    public static IApplicationBuilder UseManagementPort(this IApplicationBuilder app)
    {
        var management = app.ApplicationServices.GetRequiredService<ManagementOptions>();
        if (management.Port is not { } port) return app;
        return app.MapWhen(http => http.Connection.LocalPort == port, branch => branch.UseManagementEndpoints());
    }

    /// <summary>The management port's whole pipeline: the three endpoints, then 404. With a metrics token set, /metrics asks for it here too.</summary>
    public static void UseManagementEndpoints(this IApplicationBuilder app)
    {
        var management = app.ApplicationServices.GetRequiredService<ManagementOptions>();
        app.UseHealthChecks(LivePath, Options(CloudDeckDefaults.LiveTag));
        app.UseHealthChecks(ReadyPath, Options(CloudDeckDefaults.ReadyTag));
        if (app.ApplicationServices.GetRequiredService<TelemetryOptions>().Enabled)
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null, predicate: http => http.Request.Path == MetricsPath, path: null,
                configureBranchedPipeline: metrics => metrics.Use((http, next) =>
                    management.MetricsToken is null || management.HasMetricsToken(http.Request) ? next(http) : RefuseAsync(http, authenticated: false)),
                optionsName: null);
        }

        app.Run(http => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found",
            detail: "The management port answers /healthz, /readyz and /metrics only.").ExecuteAsync(http));
    }

    /// <summary>
    /// On the public port: <c>/readyz</c> for anyone (it says only whether storage and cluster answer) and <c>/metrics</c>
    /// for the metrics token or a caller <paramref name="isOperator"/> accepts; anyone else gets 401, a signed-in
    /// non-operator 404, as for another tenant's resource.
    /// </summary>
    public static IEndpointRouteBuilder MapCloudDeckManagement(this IEndpointRouteBuilder app, Func<HttpContext, Task<bool>> isOperator)
    {
        app.MapHealthChecks(ReadyPath, Options(CloudDeckDefaults.ReadyTag)).WithName("Ready").AllowAnonymous();
        var services = app.ServiceProvider;
        if (!services.GetRequiredService<TelemetryOptions>().Enabled) return app;
        var management = services.GetRequiredService<ManagementOptions>();
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: metrics => metrics.Use(async (http, next) =>
        {
            if (management.HasMetricsToken(http.Request)) await next(http);
            else if (http.User.Identity?.IsAuthenticated != true) await RefuseAsync(http, authenticated: false);
            else if (await isOperator(http)) await next(http);
            else await RefuseAsync(http, authenticated: true);
        }), optionsName: null).WithName("Metrics");
        return app;
    }

    private static Task RefuseAsync(HttpContext http, bool authenticated)
    {
        if (authenticated)
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: "No such resource.").ExecuteAsync(http);
        }

        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Authentication required",
            detail: "/metrics needs 'Authorization: Bearer <CloudDeck:Management:MetricsToken>' or a platform operator's token.").ExecuteAsync(http);
    }

    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = registration => registration.Tags.Contains(tag),
        ResponseWriter = WriteAsync,
    };

    /// <summary><c>{"status":"healthy","checks":{"storage":"healthy",…}}</c>: each check's state and our own description, never an exception.</summary>
    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        var body = new
        {
            status = Lower(report.Status),
            checks = report.Entries.ToDictionary(entry => entry.Key, entry => new { status = Lower(entry.Value.Status), detail = entry.Value.Description }),
        };
        return http.Response.WriteAsync(JsonSerializer.Serialize(body));
    }

    private static string Lower(HealthStatus status) => status.ToString().ToLowerInvariant();
}
