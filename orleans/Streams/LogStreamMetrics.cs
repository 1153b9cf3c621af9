using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Actors.Extensions.Streams;

/// <summary>
/// The log streams' instruments, on the meter <see cref="MeterName"/>. Tagged by stream namespace (a handful per
/// application), never by stream id.
/// </summary>
public static class LogStreamMetrics
{
    public const string MeterName = "Actors.Extensions.Streams";

    private static readonly Meter Meter = new(MeterName, "1.0");

    private static readonly Histogram<double> AppendDuration = Meter.CreateHistogram(
        "log_stream.append.duration", "s", "From an append reaching its log stream grain to its acknowledgement (stored, group-committed).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    private static readonly Counter<long> ItemsAppended = Meter.CreateCounter<long>(
        "log_stream.items.appended", "{item}", "Items stored in log streams.");

    internal static void Appended(string streamNamespace, long startedAt, int items)
    {
        var tag = new KeyValuePair<string, object?>("namespace", streamNamespace);
        AppendDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tag);
        ItemsAppended.Add(items, tag);
    }
}
