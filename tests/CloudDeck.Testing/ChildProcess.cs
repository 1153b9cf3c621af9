using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CloudDeck.Testing;

/// <summary>
/// A process a test starts (a silo, the API, git, npm...) whose stdout and stderr are kept line by
/// line so the test can wait for "listening on" style markers and print everything when it fails.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable, IDisposable
{
    private readonly Process _process;
    private readonly List<(bool IsError, string Text)> _lines = [];
    private readonly List<(Func<string, bool> Predicate, TaskCompletionSource<string> Result)> _waiters = [];
    private readonly object _gate = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private ChildProcess(Process process) => _process = process;

    public int Pid { get; private set; }

    public string FileName => _process.StartInfo.FileName;

    public bool HasExited => _process.HasExited;

    /// <summary>null while running. A process ended by a signal reports 128 + signal (SIGKILL: 137).</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>The child's stdin, for the few programs that read it; closed on dispose.</summary>
    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>Everything captured so far, stdout and stderr interleaved in arrival order (stderr lines prefixed "! ").</summary>
    public string Output
    {
        get { lock (_gate) return string.Join('\n', _lines.Select(Format)); }
    }

    /// <summary>Captured lines without the stderr prefix.</summary>
    public IReadOnlyList<string> Lines
    {
        get { lock (_gate) return [.. _lines.Select(l => l.Text)]; }
    }

    /// <param name="environment">Added to the inherited environment; a null value removes a variable.</param>
    public static ChildProcess Start(
        string fileName,
        IEnumerable<string>? arguments = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Redirected so the child never shares the test runner's stdin (CI has none).
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments ?? []) info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) info.Environment.Remove(key);
            else info.Environment[key] = value;
        }

        var child = new ChildProcess(new Process { StartInfo = info, EnableRaisingEvents = true });
        child._process.OutputDataReceived += (_, e) => child.OnLine(e.Data, isError: false, child._stdoutClosed);
        child._process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, isError: true, child._stderrClosed);
        try
        {
            child._process.Start();
        }
        catch (Exception e)
        {
            child._process.Dispose();
            throw new InvalidOperationException($"Could not start '{fileName}': {e.Message}", e);
        }
        child.Pid = child._process.Id;
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits for a line (already seen or future) matching the predicate and returns it.</summary>
    /// <exception cref="TimeoutException">Not seen in time; the message carries the output so far.</exception>
    /// <exception cref="InvalidOperationException">The process exited without printing it.</exception>
    public async Task<string> WaitForOutputAsync(Func<string, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var result = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            foreach (var (_, text) in _lines)
            {
                if (predicate(text)) return text;
            }
            _waiters.Add((predicate, result));
        }

        var ended = Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task);
        // Cancelled in finally so a long timeout does not leave its timer behind after a quick match.
        using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var first = await Task.WhenAny(result.Task, ended, Task.Delay(timeout, delayCts.Token)).ConfigureAwait(false);
            if (first == result.Task) return await result.Task.ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            // Both streams closed: the matching line may have raced in with the close.
            if (result.Task.IsCompleted) return await result.Task.ConfigureAwait(false);
            if (first == ended)
            {
                throw new InvalidOperationException(
                    $"{Describe()} ended its output without the expected line.\n{Tail()}");
            }
            throw new TimeoutException($"{Describe()} did not print the expected line within {timeout}.\n{Tail()}");
        }
        finally
        {
            await delayCts.CancelAsync().ConfigureAwait(false);
            lock (_gate) _waiters.RemoveAll(w => w.Result == result);
        }
    }

    /// <returns>false if the process is still running after the timeout.</returns>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            // Also waits for both pipes to drain, so Output is complete afterwards.
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Sends a signal to the process itself (not its children). A no-op once it has exited.</summary>
    public void Kill(Signal signal = Signal.SIGKILL)
    {
        if (_process.HasExited) return;
        var errno = Native.Kill(Pid, Native.Number(signal));
        if (errno != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill({Pid}, {signal}) failed with errno {errno}.");
        }
    }

    /// <summary>A port that was free a moment ago on 127.0.0.1. Racy by nature: bind soon after.</summary>
    public static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public override string ToString() => Describe();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            // A test that failed half-way must not leave silos or servers behind for the next test.
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        finally
        {
            _process.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void OnLine(string? data, bool isError, TaskCompletionSource closed)
    {
        if (data is null)
        {
            closed.TrySetResult();
            return;
        }
        List<TaskCompletionSource<string>>? matched = null;
        lock (_gate)
        {
            _lines.Add((isError, data));
            foreach (var (predicate, result) in _waiters)
            {
                bool hit;
                try
                {
                    hit = predicate(data);
                }
                catch (Exception e)
                {
                    result.TrySetException(e);
                    continue;
                }
                if (hit) (matched ??= []).Add(result);
            }
        }
        // Completed outside the lock so continuations cannot re-enter it.
        foreach (var result in matched ?? []) result.TrySetResult(data);
    }

    private static string Format((bool IsError, string Text) line) => line.IsError ? "! " + line.Text : line.Text;

    private string Describe() => $"'{FileName}' (pid {Pid})";

    private string Tail(int count = 60)
    {
        lock (_gate)
        {
            var tail = _lines.Skip(Math.Max(0, _lines.Count - count)).Select(Format);
            return $"--- last output of {Describe()} ---\n{string.Join('\n', tail)}";
        }
    }
}
