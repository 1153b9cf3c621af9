using System.Globalization;
using Actors.Bench;

// ./build.sh bench [--only calls|postgres|streams|cluster|usage|licenses|billing|email|webhooks] [--duration 5] [--warmup 5] [--rounds 3] [--grains 1000] [--callers 64] [--writers 32]
// The same executable is the other processes it measures against: --silo <connection string> <cluster id>, --echo and --kestrel.
if (args is ["--silo", var siloDatabase, var siloCluster])
{
    return await BenchProcesses.RunSiloAsync(siloDatabase, siloCluster);
}

if (args is ["--kestrel"])
{
    return await LicenseBenchmarks.RunKestrelAsync();
}

if (args is ["--echo"])
{
    return await BenchProcesses.RunEchoAsync();
}

var options = BenchOptions.Parse(args);
var report = new Report();
Console.WriteLine($"Actors.Bench (Microsoft Orleans) on {Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}");

if (options.Runs("calls"))
{
    await CallBenchmarks.RunAsync(options, report);
}

if (options.Runs("postgres"))
{
    await PostgresStorageBenchmarks.RunAsync(options, report);
}

if (options.Runs("streams"))
{
    await StreamBenchmarks.RunAsync(options, report);
}

if (options.Runs("cluster"))
{
    await ClusterBenchmarks.RunAsync(options, report);
}

if (options.Runs("usage"))
{
    await UsageBenchmarks.RunAsync(options, report);
}

if (options.Runs("licenses"))
{
    await LicenseBenchmarks.RunAsync(options, report);
}

if (options.Runs("billing"))
{
    await BillingBenchmarks.RunAsync(options, report);
}

if (options.Runs("email"))
{
    await EmailBenchmarks.RunAsync(options, report);
}

if (options.Runs("webhooks"))
{
    await WebhookBenchmarks.RunAsync(options, report);
}

report.Print();
return 0;

internal sealed record BenchOptions(string? Only, TimeSpan Duration, TimeSpan Warmup, int Rounds, int Grains, int Callers, int Writers)
{
    public bool Runs(string name) => Only is null || Only.Split(',').Contains(name);

    public static BenchOptions Parse(string[] args)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        int Int(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var seconds = Value("--duration") is { } d ? double.Parse(d, CultureInfo.InvariantCulture) : 5;
        // At least 5 s of warm-up whatever the duration: Orleans' call path needs that long (on two busy cores) before tiered
        // compilation has replaced it with optimized code; after 1.5 s local grain calls ran at a tenth of their later rate.
        var warmup = Value("--warmup") is { } w ? double.Parse(w, CultureInfo.InvariantCulture) : Math.Max(5, seconds / 2);
        return new BenchOptions(Value("--only"), TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(warmup),
            Int("--rounds", 3), Int("--grains", 1000), Int("--callers", 64), Int("--writers", 32));
    }
}

internal sealed class Report
{
    private readonly List<(string Name, double Value, string Baseline, double BaselineValue)> _rows = [];
    private readonly List<string> _notes = [];

    public void Add(string name, double value, string baseline, double baselineValue)
    {
        _rows.Add((name, value, baseline, baselineValue));
        Console.WriteLine($"  {name}: {value:N0}  |  {baseline}: {baselineValue:N0}  |  ratio {value / baselineValue:F2}");
    }

    public void Note(string note)
    {
        _notes.Add(note);
        Console.WriteLine("  " + note);
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine("| measure | value | baseline | baseline value | ratio |");
        Console.WriteLine("| --- | ---: | --- | ---: | ---: |");
        foreach (var (name, value, baseline, baselineValue) in _rows)
        {
            Console.WriteLine($"| {name} | {value:N0} | {baseline} | {baselineValue:N0} | {value / baselineValue:F2} |");
        }

        foreach (var note in _notes)
        {
            Console.WriteLine(note);
        }
    }
}
