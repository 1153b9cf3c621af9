using System.Diagnostics;

namespace CloudDeck.Deploy.Bench;

/// <summary>A line a process printed, with the milliseconds since it was started (stderr lines start with "! ").</summary>
internal sealed record TimedLine(double AtMs, string Text);

internal sealed record TimedRun(string Command, int ExitCode, double ElapsedMs, IReadOnlyList<TimedLine> Lines)
{
    public string Describe() => $"{Command} exited {ExitCode} after {ElapsedMs:0} ms:\n{string.Join('\n', Lines.Select(l => $"  {l.AtMs,8:0} ms  {l.Text}"))}";

    public TimedRun Succeeded() => ExitCode == 0 ? this : throw new InvalidOperationException(Describe());

    /// <summary>The last stdout line (deck prints the deployment URL there).</summary>
    public string LastLine => Lines.LastOrDefault(l => !l.Text.StartsWith("! ", StringComparison.Ordinal))?.Text ?? "";
}

/// <summary>
/// Runs a process to its end and stamps each output line with the time it arrived: the stamps of deck's progress lines
/// (hashed, uploaded, deployment created, the build's own log lines) are the phase profile of a deploy.
/// </summary>
internal static class TimedProcess
{
    public static async Task<TimedRun> RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null, string? stdin = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) info.Environment.Remove(key);
            else info.Environment[key] = value;
        }

        var lines = new List<TimedLine>();
        using var process = new Process { StartInfo = info };
        var clock = Stopwatch.StartNew();
        process.OutputDataReceived += (_, e) => Add(e.Data, "");
        process.ErrorDataReceived += (_, e) => Add(e.Data, "! ");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish in time");
        }

        var elapsed = clock.Elapsed.TotalMilliseconds;
        lock (lines) return new TimedRun($"{Path.GetFileName(fileName)} {string.Join(' ', info.ArgumentList)}", process.ExitCode, elapsed, [.. lines]);

        void Add(string? text, string prefix)
        {
            if (text is null) return;
            lock (lines) lines.Add(new TimedLine(clock.Elapsed.TotalMilliseconds, prefix + text));
        }
    }
}
