using Microsoft.Extensions.Configuration;

namespace CloudDeck.ServiceDefaults;

/// <summary>
/// Settings under <c>CloudDeck:Telemetry:*</c>. Where telemetry goes is OpenTelemetry's standard <c>OTEL_*</c>
/// variables (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_SERVICE_NAME</c>…):
/// with no endpoint set nothing leaves the process.
/// </summary>
public sealed class TelemetryOptions
{
    public const string Section = "CloudDeck:Telemetry";

    /// <summary>False: no OpenTelemetry at all (no /metrics, no traces, no export), for a host that wants none of it.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Record traces. Unset: only when an OTLP endpoint is set, since spans nobody exports cost for nothing.</summary>
    public bool? Tracing { get; set; }

    /// <summary>
    /// The share of traces recorded, decided at the trace's root (a span whose caller sampled it is always recorded):
    /// every request of a hot path traced and exported costs more than half its throughput. <c>OTEL_TRACES_SAMPLER</c>,
    /// when set, decides instead.
    /// </summary>
    public double TraceSampleRatio { get; set; } = 0.1;

    /// <summary>Set from <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or a per-signal endpoint): export traces, metrics and logs over OTLP.</summary>
    public bool ExportsOtlp { get; private set; }

    public bool TracesRecorded => Enabled && (Tracing ?? ExportsOtlp);

    public static TelemetryOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        options.ExportsOtlp = options.Enabled && new[]
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        }.Any(name => !string.IsNullOrWhiteSpace(configuration[name]));
        if (options.TraceSampleRatio is < 0 or > 1 || double.IsNaN(options.TraceSampleRatio))
        {
            throw new InvalidOperationException($"{Section}:TraceSampleRatio must be from 0 to 1 (was {options.TraceSampleRatio}; for example 0.1 records one trace in ten).");
        }

        return options;
    }
}
