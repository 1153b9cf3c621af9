using System.Diagnostics;

namespace CloudDeck.Grains.Tests.Builds;

/// <summary>The command-line tools the build tests drive directly (git to make repositories, npm to make fixtures).</summary>
internal static class Tools
{
    public static bool Has(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Any(directory => File.Exists(Path.Combine(directory, program)));

    /// <summary>Runs the program and answers its standard output; a non-zero exit fails the test with its output.</summary>
    public static async Task<string> RunAsync(string program, IEnumerable<string> arguments, string directory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}: {await errors}{await output}");
        return await output;
    }

    /// <summary>Pids of processes (of this user) whose environment holds NAME=value.</summary>
    public static IReadOnlyList<int> ProcessesWith(string name, string value)
    {
        var wanted = $"{name}={value}";
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid)) continue;
            try
            {
                // A killed process that is not reaped yet is a zombie: its environ reads empty, so it does not count.
                if (File.ReadAllText(Path.Combine(directory, "environ")).Split('\0').Contains(wanted)) found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
