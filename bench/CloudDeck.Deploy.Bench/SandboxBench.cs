using System.Diagnostics;
using System.Globalization;
using CloudDeck.Grains.Processes;
using CloudDeck.Grains.Sandbox;
using Microsoft.Extensions.Logging.Abstractions;

namespace CloudDeck.Deploy.Bench;

/// <summary>
/// <c>./build.sh bench sandbox [--rounds 40]</c>: what the sandbox costs one command. <c>/bin/true</c> started the way a
/// build starts a command (stdio redirected, the build's limits through prlimit) directly, and in a fresh sandbox
/// through <see cref="SandboxSession.StartAsync"/> (setpriv, unshare --net, bwrap, slirp4netns attached and its network
/// up), rounds alternating in one run, each timed from the start to the exit. Target: ≤ 50 ms more per command.
/// </summary>
internal static class SandboxBench
{
    private const double TargetMs = 50;

    public static async Task<int> RunAsync(int rounds)
    {
        var runner = new SandboxRunner(SandboxOptions.Read(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()), NullLogger<SandboxRunner>.Instance);
        if (await runner.UnavailableAsync() is { } problem)
        {
            Console.WriteLine($"No sandbox on this machine: {problem}");
            return 1;
        }

        var work = Directory.CreateTempSubdirectory("clouddeck-sandbox-bench-").FullName;
        var limits = new ProcessLimits(2048, 3600, 1024, 10240);
        var environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["HOME"] = "/work" };
        List<double> direct = [], sandboxed = [];
        try
        {
            using var session = runner.Open([new SandboxMount(work, "/work", Writable: true)]);
            await session.OwnWritableAsync(CancellationToken.None);
            for (var round = -3; round < rounds; round++)
            {
                var a = await DirectAsync(limits, environment);
                var b = await SandboxedAsync(session, limits, environment, work);
                if (round < 0) continue; // warm-up
                direct.Add(a);
                sandboxed.Add(b);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        var costs = direct.Zip(sandboxed, (d, s) => s - d).ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CloudDeck sandbox bench: /bin/true, {rounds} alternating rounds, {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}"));
        Console.WriteLine("| command | median | p90 | min |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        Row("direct (prlimit, setsid)", direct);
        Row("sandboxed (setpriv, unshare, bwrap, slirp4netns)", sandboxed);
        Row("sandbox cost (paired difference)", costs);
        var median = CaseResult.Median(costs);
        Console.WriteLine(median <= TargetMs ? $"Target ≤ {TargetMs:0} ms per command: met." : $"Target ≤ {TargetMs:0} ms per command: NOT met.");
        return 0;
    }

    private static void Row(string name, List<double> values)
    {
        var sorted = values.Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {CaseResult.Median(sorted):0.0} ms | {sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(sorted.Count * 0.9) - 1)]:0.0} ms | {sorted[0]:0.0} ms |"));
    }

    private static async Task<double> DirectAsync(ProcessLimits limits, Dictionary<string, string> environment)
    {
        var watch = Stopwatch.StartNew();
        var info = new ProcessStartInfo("/usr/bin/setsid") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("/bin/true");
        info.Environment.Clear();
        foreach (var (name, value) in environment) info.Environment[name] = value;
        limits.ForUnsandboxed().ApplyTo(info);
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        await Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync(), process.WaitForExitAsync());
        return watch.Elapsed.TotalMilliseconds;
    }

    private static async Task<double> SandboxedAsync(SandboxSession session, ProcessLimits limits, Dictionary<string, string> environment, string work)
    {
        var watch = Stopwatch.StartNew();
        await using var run = await session.StartAsync("/bin/true", [], work, environment, limits, CancellationToken.None);
        run.Process.StandardInput.Close();
        await Task.WhenAll(run.Process.StandardOutput.ReadToEndAsync(), run.Process.StandardError.ReadToEndAsync(), run.Process.WaitForExitAsync());
        var elapsed = watch.Elapsed.TotalMilliseconds;
        if (run.Process.ExitCode != 0) throw new InvalidOperationException($"the sandboxed /bin/true exited {run.Process.ExitCode}");
        return elapsed;
    }
}
