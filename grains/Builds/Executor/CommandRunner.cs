using System.Diagnostics;
using System.Text;
using CloudDeck.GrainInterfaces.Builds;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// Runs one command of a build as a child process in its own session: output line by line into the build's log,
/// stdin closed, only the environment given (never the silo's: it may hold database passwords and keys).
/// Cancellation kills the whole tree; so does the command's end, because a background process a step leaves behind
/// would otherwise outlive the build.
/// </summary>
public static class CommandRunner
{
    /// <summary>Runs <paramref name="command"/> with <c>/bin/sh -c</c>; answers its exit code.</summary>
    public static Task<int> ShellAsync(string command, string directory, IReadOnlyDictionary<string, string> environment,
        BuildLogWriter log, CancellationToken cancellationToken) =>
        RunAsync("/bin/sh", ["-c", command], directory, environment, log, cancellationToken);

    /// <summary>Runs a program with arguments as given (no shell), so refs and URLs are never interpreted by a shell.</summary>
    public static async Task<int> RunAsync(string program, IReadOnlyList<string> arguments, string directory,
        IReadOnlyDictionary<string, string> environment, BuildLogWriter log, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var info = ProcessTree.StartInfo(program, arguments);
        info.WorkingDirectory = directory;
        info.UseShellExecute = false;
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.StandardOutputEncoding = Encoding.UTF8;
        info.StandardErrorEncoding = Encoding.UTF8;
        info.Environment.Clear();
        foreach (var (name, value) in environment) info.Environment[name] = value;

        environment.TryGetValue(ProcessTree.MarkerVariable, out var marker);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        try
        {
            using (cancellationToken.Register(() => KillAll(process, marker)))
            {
                process.StandardInput.Close();
                var stdout = PumpAsync(process.StandardOutput, BuildLogStreams.Stdout, log);
                var stderr = PumpAsync(process.StandardError, BuildLogStreams.Stderr, log);
                await process.WaitForExitAsync(CancellationToken.None);
                // Background children may still hold the pipes open; ending them ends the pipes (a step owns nothing after it).
                KillAll(process, marker);
                try
                {
                    await Task.WhenAll(stdout, stderr).WaitAsync(PipeGrace, CancellationToken.None);
                }
                catch (TimeoutException)
                {
                    log.System("Output after the command ended was cut off: a process outside the build still held its output open.");
                }
            }
        }
        finally
        {
            KillAll(process, marker);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return process.ExitCode;
    }

    private static readonly TimeSpan PipeGrace = TimeSpan.FromSeconds(10);

    private static void KillAll(Process process, string? marker)
    {
        ProcessTree.Kill(process);
        if (marker is not null) ProcessTree.KillMarked(marker);
    }

    private static async Task PumpAsync(StreamReader reader, string stream, BuildLogWriter log)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            log.Write(stream, line);
        }
    }
}
