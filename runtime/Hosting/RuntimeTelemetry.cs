using System.Diagnostics;

namespace Actors.Runtime;

/// <summary>
/// Traces grain calls. Every call carries its caller's W3C trace context (traceparent), also across silos in the
/// message header; when something listens to this source, each call runs inside a server span that is a child of
/// the caller's, so one trace spans API → grain → grain.
/// </summary>
public static class RuntimeTelemetry
{
    public const string SourceName = "Actors.Runtime";

    internal static readonly ActivitySource Source = new(SourceName, "1.0");

    internal static Activity? StartCall(GrainRequest request)
    {
        if (request.TraceParent is not { } parent || !Source.HasListeners()
            || !ActivityContext.TryParse(parent, null, out var context))
        {
            return null;
        }

        var activity = Source.StartActivity($"{request.InterfaceName}.{request.MethodName}", ActivityKind.Server, context);
        activity?.SetTag("grain.id", request.Target.ToString());
        return activity;
    }
}
