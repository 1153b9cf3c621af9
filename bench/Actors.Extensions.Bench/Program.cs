using System.Globalization;
using Actors.Extensions.Bench;
using Actors.Extensions.Sqlite;

// ./build.sh bench storage [--duration 5] [--rounds 3] [--grains 256] [--warmup 2] [--only "text in a row's name"]
// SQLite grain state writes/s: our SqliteGrainStorage beside Orleans' own ADO.NET storage on SQLite, alternating
// rounds in one run (absolute rates drift on a shared machine; the ratio is the figure to quote).
var duration = TimeSpan.FromSeconds(Option("--duration", 5));
var warmup = TimeSpan.FromSeconds(Option("--warmup", 2));
var rounds = Option("--rounds", 3);
var grains = Option("--grains", 256);

var ours = StorageBench.Ours(SqliteDurability.Full, grains);
var theirs = StorageBench.Theirs(grains);
var theirsFewer = StorageBench.Theirs(Math.Min(grains, 16));
StorageSubject[] subjects =
[
    ours,
    StorageBench.Ours(SqliteDurability.Normal, grains),
    theirs,
    theirsFewer,
    StorageBench.Ours(SqliteDurability.Full, grains) with { Name = "ours, Durability=Full, provider called directly (no grains)", Direct = true },
    // Full waits for one fsync per commit: a grain writing alone is capped near 1/fsync, and many grains share each fsync.
    StorageBench.Ours(SqliteDurability.Full, 1) with { Name = "ours, Durability=Full, one grain alone" },
    StorageBench.Ours(SqliteDurability.Normal, 1) with { Name = "ours, Durability=Normal, one grain alone" },
    StorageBench.Ours(SqliteDurability.Full, grains * 4) with { Name = "ours, Durability=Full, more grains" },
];

if (args.Contains("--only"))
{
    var only = args[Array.IndexOf(args, "--only") + 1];
    subjects = [.. subjects.Where(s => s.Name.Contains(only, StringComparison.OrdinalIgnoreCase))];
}

Console.WriteLine($"Actors.Extensions.Bench on {Environment.ProcessorCount} cores, .NET {Environment.Version}");
Console.WriteLine($"SQLite grain state writes/s: each grain writes its state in a loop (each write awaited), {duration.TotalSeconds:0} s per round, {rounds} rounds, median");
var directory = Directory.CreateTempSubdirectory("actors-extensions-bench-");
var results = subjects.ToDictionary(s => s, _ => new List<double>());
var perCpu = subjects.ToDictionary(s => s, _ => new List<double>());
try
{
    for (var round = 1; round <= rounds; round++)
    {
        foreach (var subject in subjects)
        {
            var (rate, cpuRate) = await StorageBench.MeasureAsync(subject, directory.FullName, warmup, duration);
            results[subject].Add(rate);
            perCpu[subject].Add(cpuRate);
            Console.WriteLine($"  round {round}: {subject.Name} ({subject.Grains} grains): {rate,10:N0} writes/s, {cpuRate,10:N0} per CPU-second");
        }
    }
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    directory.Delete(recursive: true);
}

Console.WriteLine();
Console.WriteLine($"{"",-78} {"writes/s",10} {"per CPU-s",10}");
foreach (var subject in subjects)
{
    Console.WriteLine($"{subject.Name + $" ({subject.Grains} grains)",-78} {Median(results[subject]),10:N0} {Median(perCpu[subject]),10:N0}");
}

if (!subjects.Contains(ours) || !subjects.Contains(theirs) || !subjects.Contains(theirsFewer))
{
    return 0;
}

var oursRate = Median(results[ours]);
var theirsBest = Math.Max(Median(results[theirs]), Median(results[theirsFewer]));
Console.WriteLine();
Console.WriteLine($"ours (Full, {grains} grains) / Orleans' ADO.NET SQLite (its better concurrency): {oursRate / theirsBest:N1}x  " +
    $"(target >= 20x; ours >= 50,000 writes/s: {(oursRate >= 50_000 ? "met" : "NOT met")})");
return 0;

int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}
