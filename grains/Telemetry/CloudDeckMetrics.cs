using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace CloudDeck.Grains.Telemetry;

/// <summary>
/// CloudDeck's own instruments, on the meter <see cref="MeterName"/>. Every tag has a handful of values (an outcome, a
/// status class, a limit's name), never an id: ids belong on traces. Counts are per process; Prometheus sums them over
/// the API and silo processes. One static meter rather than one per <c>IMeterFactory</c>: grains, the edge and domain
/// services all record here without each constructor taking it, and a listener subscribes by name either way.
/// </summary>
public static class CloudDeckMetrics
{
    public const string MeterName = "CloudDeck";

    private static readonly Meter Meter = new(MeterName, "1.0");

    private static readonly Counter<long> BuildsCompleted = Meter.CreateCounter<long>(
        "clouddeck.builds.completed", "{build}", "Builds that reached a terminal status, by outcome.");

    private static readonly Histogram<double> BuildDuration = Meter.CreateHistogram(
        "clouddeck.build.duration", "s", "From a build's start (or its queueing, if it never started) to its end, by outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600] });

    private static readonly Counter<long> DeploymentsCreated = Meter.CreateCounter<long>(
        "clouddeck.deployments.created", "{deployment}", "Deployments created, by source: upload, git or git_push.");

    private static readonly Counter<long> ProductionSwitches = Meter.CreateCounter<long>(
        "clouddeck.production.switches", "{switch}", "Production aliases moved by promote or rollback.");

    private static readonly Counter<long> EdgeRequests = Meter.CreateCounter<long>(
        "clouddeck.edge.requests", "{request}", "Requests the edge answered for a deployment's host, by status class and cache result.");

    private static readonly Histogram<double> UpstreamDuration = Meter.CreateHistogram(
        "clouddeck.proxy.upstream.duration", "s", "Time the edge spent relaying a request to a server deployment's process, by outcome.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    private static readonly Counter<long> QuotaRefusals = Meter.CreateCounter<long>(
        "clouddeck.quota.refusals", "{refusal}", "Requests refused by a plan limit, by limit (a queued build waiting for a slot counts too).");

    private static readonly Counter<long> UsageEventsIngested = Meter.CreateCounter<long>(
        "clouddeck.usage.events.ingested", "{event}", "Usage events accepted from SDKs and stored in organizations' usage streams.");

    private static readonly Counter<long> LicenseValidations = Meter.CreateCounter<long>(
        "clouddeck.license.validations", "{validation}", "License validations, by result: valid or the refusal's reason.");

    private static readonly Counter<long> ServerRestarts = Meter.CreateCounter<long>(
        "clouddeck.server.restarts", "{restart}", "Server deployments' processes restarted after an unexpected exit.");

    // Builds waiting in organizations' queues, per queue activation in this process; and the runs this process executes.
    private static readonly ConcurrentDictionary<string, int> Waiting = new(StringComparer.Ordinal);
    private static Func<int>? _running;

    // The edge's caches in this process, by registration (tests host several edges in one process); summed by cache name.
    private static readonly ConcurrentDictionary<object, (string Cache, Func<EdgeCacheFigures> Read)> EdgeCaches = new();

    static CloudDeckMetrics()
    {
        Meter.CreateObservableUpDownCounter("clouddeck.edge.cache.size", () => EdgeCacheMeasurements(f => f.Size), "{entry}",
            "Entries in each edge cache (bytes for the files cache), by cache.");
        Meter.CreateObservableGauge("clouddeck.edge.cache.limit", () => EdgeCacheMeasurements(f => f.Limit), "{entry}",
            "The most entries each edge cache keeps (bytes for the files cache), by cache.");
        Meter.CreateObservableCounter("clouddeck.edge.cache.lookups", EdgeCacheLookups, "{lookup}",
            "Lookups in each edge cache, by cache and result (hit or miss): the hit rate is hits over both.");
        Meter.CreateObservableCounter("clouddeck.edge.cache.evictions", () => EdgeCacheMeasurements(f => f.Evictions), "{entry}",
            "Entries an edge cache let go of, least recently used first, to stay within its limit, by cache.");
        Meter.CreateObservableUpDownCounter("clouddeck.builds.queued", () => Waiting.Values.Sum(), "{build}",
            "Builds waiting for a concurrent-build slot in the queues active in this process.");
        Meter.CreateObservableUpDownCounter("clouddeck.builds.running", () => _running?.Invoke() ?? 0, "{build}",
            "Builds whose commands this process is running.");
    }

    /// <summary>Creates the instruments now (a static class makes them on first use), so /metrics lists them from the start.</summary>
    public static void CreateInstruments() => _ = Meter.Name;

    public static void BuildCompleted(string outcome, TimeSpan duration)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        BuildsCompleted.Add(1, tag);
        BuildDuration.Record(Math.Max(0, duration.TotalSeconds), tag);
    }

    /// <param name="source"><c>upload</c>, <c>git</c> or <c>git_push</c>.</param>
    public static void DeploymentCreated(string source) => DeploymentsCreated.Add(1, new KeyValuePair<string, object?>("source", source));

    /// <param name="action"><c>promote</c> or <c>rollback</c>.</param>
    public static void ProductionSwitched(string action) => ProductionSwitches.Add(1, new KeyValuePair<string, object?>("action", action));

    /// <param name="cache"><c>hit</c> or <c>miss</c> for a stored file; <c>bypass</c> for a proxied request, a redirect or an edge page.</param>
    public static void EdgeRequest(int status, string cache) =>
        EdgeRequests.Add(1, new KeyValuePair<string, object?>("status_class", StatusClass(status)), new KeyValuePair<string, object?>("cache", cache));

    public static void UpstreamRelayed(string outcome, TimeSpan elapsed) =>
        UpstreamDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));

    public static void QuotaRefused(string limit) => QuotaRefusals.Add(1, new KeyValuePair<string, object?>("limit", limit));

    public static void UsageIngested(int events) => UsageEventsIngested.Add(events);

    /// <param name="result"><c>valid</c>, or one of the license refusal reasons (a fixed set).</param>
    public static void LicenseValidated(string result) => LicenseValidations.Add(1, new KeyValuePair<string, object?>("result", result));

    public static void ServerRestarted() => ServerRestarts.Add(1);

    /// <summary>An organization's queue in this process has <paramref name="count"/> builds waiting (0 forgets it).</summary>
    public static void QueueLength(string organization, int count)
    {
        if (count == 0) Waiting.TryRemove(organization, out _);
        else Waiting[organization] = count;
    }

    /// <summary>Where <c>clouddeck.builds.running</c> reads this process's running builds.</summary>
    public static void ObserveRunningBuilds(Func<int> running) => _running = running;

    /// <summary>Reports an edge cache's figures under <c>clouddeck.edge.cache.*</c> (tag <c>cache</c>) until disposed.</summary>
    public static IDisposable ObserveEdgeCache(string cache, Func<EdgeCacheFigures> read)
    {
        var registration = new EdgeCacheRegistration();
        EdgeCaches[registration] = (cache, read);
        return registration;
    }

    private sealed class EdgeCacheRegistration : IDisposable
    {
        public void Dispose() => EdgeCaches.TryRemove(this, out _);
    }

    private static IEnumerable<(string Cache, EdgeCacheFigures Figures)> EdgeCacheFiguresByName() =>
        EdgeCaches.Values.GroupBy(c => c.Cache, StringComparer.Ordinal).Select(g => (g.Key, g.Select(c => c.Read()).Aggregate(
            new EdgeCacheFigures(0, 0, 0, 0, 0),
            (sum, f) => new EdgeCacheFigures(sum.Size + f.Size, sum.Limit + f.Limit, sum.Hits + f.Hits, sum.Misses + f.Misses, sum.Evictions + f.Evictions))));

    private static IEnumerable<Measurement<long>> EdgeCacheMeasurements(Func<EdgeCacheFigures, long> figure) =>
        EdgeCacheFiguresByName().Select(c => new Measurement<long>(figure(c.Figures), new KeyValuePair<string, object?>("cache", c.Cache))).ToList();

    private static IEnumerable<Measurement<long>> EdgeCacheLookups() => EdgeCacheFiguresByName().SelectMany(c => new[]
    {
        new Measurement<long>(c.Figures.Hits, new KeyValuePair<string, object?>("cache", c.Cache), new KeyValuePair<string, object?>("result", "hit")),
        new Measurement<long>(c.Figures.Misses, new KeyValuePair<string, object?>("cache", c.Cache), new KeyValuePair<string, object?>("result", "miss")),
    }).ToList();

    /// <summary>"2xx", "4xx"…: five values, where the status code itself would be dozens.</summary>
    public static string StatusClass(int status) => status switch
    {
        >= 100 and < 200 => "1xx",
        >= 200 and < 300 => "2xx",
        >= 300 and < 400 => "3xx",
        >= 400 and < 500 => "4xx",
        _ => "5xx",
    };
}

/// <summary>An edge cache's size and limit (entries, or bytes for files) and its lookups and evictions since it started.</summary>
public readonly record struct EdgeCacheFigures(long Size, long Limit, long Hits, long Misses, long Evictions);

/// <summary>
/// CloudDeck's own spans, on the activity source <see cref="SourceName"/>: the parts of a deploy that run outside any
/// request or grain call (a build's run), so that they stay in the trace of the request that started them.
/// </summary>
public static class CloudDeckActivities
{
    public const string SourceName = "CloudDeck";

    public const string OrganizationTag = "clouddeck.organization";
    public const string ProjectTag = "clouddeck.project";
    public const string DeploymentTag = "clouddeck.deployment.id";
    public const string BuildTag = "clouddeck.build.id";

    public static readonly ActivitySource Source = new(SourceName, "1.0");

    /// <summary>Tags the current span (the grain call's, or the request's) with the deployment it works on; ids only, never secrets.</summary>
    public static void TagDeployment(string organization, string? project, string deploymentId, string? buildId = null)
    {
        if (Activity.Current is not { IsAllDataRequested: true } activity) return;
        activity.SetTag(OrganizationTag, organization);
        if (project is not null) activity.SetTag(ProjectTag, project);
        activity.SetTag(DeploymentTag, deploymentId);
        if (buildId is not null) activity.SetTag(BuildTag, buildId);
    }
}
