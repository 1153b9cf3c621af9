using Actors.Extensions.Streams;
using CloudDeck.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Diagnostics;

namespace CloudDeck.ServiceDefaults;

/// <summary>What the API and silo hosts set up alike: telemetry, health checks and the management settings.</summary>
public static class CloudDeckDefaults
{
    /// <summary>Health checks tagged so are what <c>/readyz</c> runs; <c>/healthz</c> (liveness) runs the <see cref="LiveTag"/> ones.</summary>
    public const string ReadyTag = "ready";

    public const string LiveTag = "live";

    /// <summary>Orleans' meter (grain calls, activations, messaging, storage, membership).</summary>
    public const string OrleansMeter = "Microsoft.Orleans";

    /// <summary>
    /// OpenTelemetry traces (ASP.NET Core, HttpClient, Orleans' grain calls and storage, Npgsql, CloudDeck's own spans),
    /// metrics (ASP.NET Core, the .NET runtime, Orleans, Npgsql, CloudDeck, log streams) and logs, exported over OTLP
    /// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; metrics also for <c>/metrics</c>. Health checks for <c>/readyz</c>:
    /// storage reachable and this process in the cluster. Call after the silo or cluster client is added.
    /// </summary>
    /// <param name="serviceName">service.name unless <c>OTEL_SERVICE_NAME</c> says otherwise: clouddeck-api, clouddeck-silo.</param>
    /// <exception cref="InvalidOperationException">A setting is wrong; the message names it.</exception>
    public static IHostApplicationBuilder AddCloudDeckDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        var telemetry = TelemetryOptions.Read(builder.Configuration);
        var management = ManagementOptions.Read(builder.Configuration);
        builder.Services.AddSingleton(telemetry);
        builder.Services.AddSingleton(management);
        if (telemetry.Enabled)
        {
            CloudDeckMetrics.CreateInstruments();
            AddOpenTelemetry(builder, serviceName, telemetry);
        }

        builder.Services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("The process answers."), [LiveTag])
            .AddCheck<StorageReadiness>("storage", tags: [ReadyTag])
            .AddCheck<ClusterReadiness>("cluster", tags: [ReadyTag]);
        return builder;
    }

    private static void AddOpenTelemetry(IHostApplicationBuilder builder, string serviceName, TelemetryOptions telemetry)
    {
        var configuration = builder.Configuration;
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName: configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } configured ? configured : serviceName,
                serviceVersion: typeof(CloudDeckDefaults).Assembly.GetName().Version?.ToString(),
                serviceInstanceId: $"{Environment.MachineName}:{Environment.ProcessId}"))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(OrleansMeter, CloudDeckMetrics.MeterName, LogStreamMetrics.MeterName, "Npgsql")
                // Scraped by Prometheus at /metrics; collected only when scraped.
                .AddPrometheusExporter(options => options.ScrapeResponseCacheDurationMilliseconds = 0));
        if (telemetry.TracesRecorded)
        {
            otel.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(options =>
                {
                    // Probes and scrapes every few seconds would bury the requests worth reading.
                    options.Filter = http => !IsManagementPath(http.Request.Path);
                })
                .AddHttpClientInstrumentation()
                .AddSource(ActivitySources.ApplicationGrainActivitySourceName, ActivitySources.RuntimeActivitySourceName,
                    ActivitySources.StorageActivitySourceName, CloudDeckActivities.SourceName)
                .AddNpgsql());
            if (string.IsNullOrWhiteSpace(configuration["OTEL_TRACES_SAMPLER"]))
            {
                otel.WithTracing(tracing => tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(telemetry.TraceSampleRatio))));
            }
        }

        if (telemetry.ExportsOtlp)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
            // Traces, metrics and logs to the OTLP endpoint, configured by the standard OTEL_EXPORTER_OTLP_* variables.
            otel.UseOtlpExporter();
        }
    }

    public static bool IsManagementPath(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz");
}
