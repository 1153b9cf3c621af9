using System.Diagnostics;
using System.Text;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.Grains.Processes;
using CloudDeck.Grains.Sandbox;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// Runs one command of a build as a child process in its own session: output line by line into the build's log,
/// stdin closed, only the environment given (never the silo's: it may hold database passwords and keys).
/// Cancellation kills the whole tree; so does the command's end, because a background process a step leaves behind
/// would otherwise outlive the build. Under <see cref="ProcessLimits"/> a command that a limit ended fails with
/// <see cref="BuildStepFailedException"/> saying which ("The build ran out of memory (limit 256 MiB per process)"), not
/// with a bare exit code, so the log tells the user what to change.
/// </summary>
public static class CommandRunner
{
    /// <summary>Runs <paramref name="command"/> with <c>/bin/sh -c</c>; answers its exit code.</summary>
    public static Task<int> ShellAsync(string command, string directory, IReadOnlyDictionary<string, string> environment,
        BuildLogWriter log, CancellationToken cancellationToken) =>
        ShellAsync(command, directory, environment, ProcessLimits.None, log, cancellationToken);

    /// <summary>Runs <paramref name="command"/> with <c>/bin/sh -c</c> under <paramref name="limits"/>; answers its exit code.</summary>
    /// <exception cref="BuildStepFailedException">A limit ended the command.</exception>
    public static Task<int> ShellAsync(string command, string directory, IReadOnlyDictionary<string, string> environment,
        ProcessLimits limits, BuildLogWriter log, CancellationToken cancellationToken, SandboxSession? sandbox = null) =>
        RunAsync("/bin/sh", ["-c", command], directory, environment, limits, log, cancellationToken, sandbox);

    /// <summary>Runs a program with arguments as given (no shell), so refs and URLs are never interpreted by a shell.</summary>
    public static Task<int> RunAsync(string program, IReadOnlyList<string> arguments, string directory,
        IReadOnlyDictionary<string, string> environment, BuildLogWriter log, CancellationToken cancellationToken) =>
        RunAsync(program, arguments, directory, environment, ProcessLimits.None, log, cancellationToken);

    /// <summary>
    /// Runs a program with arguments as given (no shell) under <paramref name="limits"/>, in <paramref name="sandbox"/>
    /// when given (<paramref name="directory"/> is then a host path under one of its mounts); answers its exit code.
    /// </summary>
    /// <exception cref="BuildStepFailedException">A limit ended the command.</exception>
    public static async Task<int> RunAsync(string program, IReadOnlyList<string> arguments, string directory,
        IReadOnlyDictionary<string, string> environment, ProcessLimits limits, BuildLogWriter log, CancellationToken cancellationToken,
        SandboxSession? sandbox = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        cancellationToken.ThrowIfCancellationRequested();
        var watch = limits.Watch();
        environment.TryGetValue(ProcessTree.MarkerVariable, out var marker);
        SandboxedProcess? sandboxed = null;
        Process process;
        if (sandbox is null)
        {
            var info = ProcessTree.SupervisedStartInfo(program, arguments, directory, environment);
            // Outside setsid, so the session leader and everything it starts inherit the limits (prlimit execs: same pid).
            limits.ForUnsandboxed().ApplyTo(info);
            process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        }
        else
        {
            sandboxed = await sandbox.StartAsync(program, arguments, directory, environment, limits, cancellationToken);
            process = sandboxed.Process;
            sandboxed.Watch(watch);
        }

        int exitCode;
        try
        {
            using (cancellationToken.Register(() => KillAll(process, marker, sandbox)))
            {
                process.StandardInput.Close();
                var stdout = PumpAsync(process.StandardOutput, BuildLogStreams.Stdout, log, watch);
                var stderr = PumpAsync(process.StandardError, BuildLogStreams.Stderr, log, watch);
                await process.WaitForExitAsync(CancellationToken.None);
                exitCode = process.ExitCode;
                // Background children may still hold the pipes open; ending them ends the pipes (a step owns nothing after it).
                KillAll(process, marker, sandbox);
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
            KillAll(process, marker, sandbox);
            if (sandboxed is not null) await sandboxed.DisposeAsync();
            else process.Dispose();
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (watch.BreachOf(exitCode) is { } breach)
        {
            throw new BuildStepFailedException(breach.Describe("The build"), exitCode);
        }

        return exitCode;
    }

    private static readonly TimeSpan PipeGrace = TimeSpan.FromSeconds(10);

    private static void KillAll(Process process, string? marker, SandboxSession? sandbox)
    {
        if (sandbox is not null)
        {
            // Every process of the sandbox runs as its uid, so one sweep of that uid finds them all: the tree walk and
            // the marker sweep read every process on the machine for nothing (about 10 ms after each command).
            ProcessTree.KillGroup(process);
            sandbox.KillAll();
            return;
        }

        ProcessTree.Kill(process);
        if (marker is not null) ProcessTree.KillMarked(marker);
    }

    private static async Task PumpAsync(StreamReader reader, string stream, BuildLogWriter log, LimitWatch watch)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            watch.Observe(line);
            log.Write(stream, line);
        }
    }
}
