using System.Diagnostics;
using System.Globalization;
using CloudDeck.Telemetry.Bench;

// ./build.sh bench telemetry [--connections 32] [--duration 10] [--warmup 5] [--rounds 3] [--licenses 50]
// API processes set up alike: telemetry off (CloudDeck:Telemetry:Enabled=false); exporting traces (the default one in
// ten), metrics and logs over OTLP/HTTP to a receiver in this process; and the same with every trace recorded, for what
// full tracing costs. Rounds alternate between them, best of each; the target is on / off >= 0.9.
var connections = Arg("--connections", 32);
var duration = TimeSpan.FromSeconds(Arg("--duration", 10));
var warmup = TimeSpan.FromSeconds(Arg("--warmup", 5));
var rounds = Arg("--rounds", 3);
var licenses = Arg("--licenses", 50);

await using var receiver = await OtlpReceiver.StartAsync();
Console.WriteLine($"telemetry: OTLP/HTTP receiver at {receiver.Endpoint}; {connections} callers, {rounds} rounds of {duration.TotalSeconds:0} s");
await using var off = await ApiUnderTest.StartAsync("telemetry off", new Dictionary<string, string?> { ["CloudDeck__Telemetry__Enabled"] = "false" }, licenses);
Dictionary<string, string?> Otlp(string? sampler) => new()
{
    ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint.ToString().TrimEnd('/'),
    ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
    // Export often, so the exporting's cost falls inside the measured seconds.
    ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
    ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
    ["OTEL_TRACES_SAMPLER"] = sampler,
};
await using var on = await ApiUnderTest.StartAsync("telemetry on (OTLP)", Otlp(null), licenses);
await using var all = await ApiUnderTest.StartAsync("on, every trace", Otlp("parentbased_always_on"), licenses);

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, AutomaticDecompression = System.Net.DecompressionMethods.None })
{
    Timeout = TimeSpan.FromSeconds(30),
};

Func<int, long, Task> Validate(ApiUnderTest api) => async (caller, n) =>
{
    // Each caller walks the machines from its own offset, so callers do not all ask one license at once.
    var body = api.ValidateBodies[(int)((caller * 7919L + n) % api.ValidateBodies.Count)];
    using var content = new ByteArrayContent(body);
    content.Headers.ContentType = new("application/json");
    using var response = await http.PostAsync(new Uri(api.Address, "/api/v1/licenses/validate"), content);
    await response.Content.CopyToAsync(Stream.Null);
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{api}: validate answered {(int)response.StatusCode}");
};

Func<int, long, Task> Edge(ApiUnderTest api) => async (_, _) =>
{
    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api.Address, "/"));
    request.Headers.Host = api.SiteHost;
    using var response = await http.SendAsync(request);
    await response.Content.CopyToAsync(Stream.Null);
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{api}: the edge answered {(int)response.StatusCode}");
};

var results = new Dictionary<(string Load, ApiUnderTest Api), double>();
foreach (var (load, run) in new (string, Func<ApiUnderTest, Func<int, long, Task>>)[] { ("license validations/s", Validate), ("edge requests/s", Edge) })
{
    foreach (var api in new[] { off, on, all }) await ThroughputAsync(connections, warmup, run(api));
    for (var round = 0; round < rounds; round++)
    {
        // Alternating, and the order swapped each round, so neither side always runs on a warmer or colder machine.
        foreach (var api in round % 2 == 0 ? new[] { off, on, all } : [all, on, off])
        {
            var rate = await ThroughputAsync(connections, duration, run(api));
            Console.WriteLine($"  round {round + 1}: {load} {api}: {ApiUnderTest.Format(rate)}");
            results[(load, api)] = Math.Max(results.GetValueOrDefault((load, api)), rate);
        }
    }
}

Console.WriteLine();
Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd}; {Environment.ProcessorCount} cores; OTLP receiver took {receiver.Requests:N0} requests, {receiver.Bytes / 1024.0 / 1024.0:F1} MiB");
Console.WriteLine("| load | telemetry off | on (OTLP, 1 trace in 10) | on / off | on, every trace | every trace / off |");
Console.WriteLine("| --- | --: | --: | --: | --: | --: |");
foreach (var load in new[] { "license validations/s", "edge requests/s" })
{
    var (offRate, onRate, allRate) = (results[(load, off)], results[(load, on)], results[(load, all)]);
    Console.WriteLine($"| {load} | {ApiUnderTest.Format(offRate)} | {ApiUnderTest.Format(onRate)} | {Ratio(onRate, offRate)} | " +
                      $"{ApiUnderTest.Format(allRate)} | {Ratio(allRate, offRate)} |");
}

static string Ratio(double value, double baseline) => (value / baseline).ToString("F2", CultureInfo.InvariantCulture) + "×";

if (receiver.Requests == 0) throw new InvalidOperationException("The OTLP receiver got nothing: the 'on' process exported nothing.");
return 0;

/// <summary>Closed loop: <paramref name="callers"/> callers, each sending its next request when its last one is answered.</summary>
static async Task<double> ThroughputAsync(int callers, TimeSpan duration, Func<int, long, Task> call)
{
    long completed = 0;
    var stopwatch = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
    {
        for (long n = 0; stopwatch.Elapsed < duration; n++)
        {
            await call(caller, n);
            Interlocked.Increment(ref completed);
        }
    })));
    return completed / stopwatch.Elapsed.TotalSeconds;
}

int Arg(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}
