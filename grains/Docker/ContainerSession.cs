using System.Text;
using CloudDeck.GrainInterfaces.Builds;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace CloudDeck.Grains.Docker;

/// <summary>
/// One started tenant container: its output split into lines (stdout and stderr kept apart) as it arrives, its end
/// (exit code, and whether the OOM killer ended it), and kill and stop. The container is removed once it has ended and
/// its end was read, so nothing of it stays on the Docker host.
/// </summary>
public sealed class ContainerSession : IAsyncDisposable
{
    private readonly DockerEngine _engine;
    private readonly TaskCompletionSource<ContainerExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ContainerSession(DockerEngine engine, string id)
    {
        _engine = engine;
        Id = id;
    }

    public string Id { get; }

    /// <summary>The uid its processes run as.</summary>
    public int Uid { get; private init; }

    /// <summary>The host pid of the container's first process (docker-init), once started.</summary>
    public int? Pid { get; private set; }

    /// <summary>Completes when the container has ended and its output is read to the end.</summary>
    public Task<ContainerExit> Exited => _exited.Task;

    /// <summary>
    /// Creates the container, hands <see cref="ContainerSpec.HandOver"/> to its uid, attaches to its output (before it starts, so no line is missed) and its stdin (held until
    /// the container ends: when this process dies, the container's lease ends it) and starts it.
    /// <paramref name="line"/> gets each line with its stream (<see cref="BuildLogStreams"/>).
    /// </summary>
    public static async Task<ContainerSession> StartAsync(DockerEngine engine, ContainerSpec spec, Action<string, string> line,
        CancellationToken cancellationToken)
    {
        var (id, uid) = await engine.CreateAsync(spec, cancellationToken);
        var session = new ContainerSession(engine, id) { Uid = uid };
        try
        {
            if (engine.ChownsWorkDirectories) await DockerEngine.HandOverAsync(spec.HandOver ?? [], uid, cancellationToken);
            var output = await engine.Client.Containers.AttachContainerAsync(id, tty: false,
                new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, cancellationToken);
            await engine.Client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken);
            var state = await engine.Client.Containers.InspectContainerAsync(id, cancellationToken);
            session.Pid = state.State.Pid > 0 ? (int)state.State.Pid : null;
            _ = session.FollowAsync(output, line);
        }
        catch
        {
            await engine.RemoveAsync(id);
            throw;
        }

        return session;
    }

    /// <summary>
    /// Measures <paramref name="directories"/> (what a container with a read-only root and a sized /tmp can write) every
    /// <paramref name="period"/> and kills the container once they hold more than <paramref name="limitBytes"/>; true
    /// when it did. Ends with <paramref name="stop"/>.
    /// </summary>
    public async Task<bool> KillPastDiskLimitAsync(IReadOnlyList<string> directories, long limitBytes, TimeSpan period, CancellationToken stop)
    {
        var pause = period;
        try
        {
            while (true)
            {
                await Task.Delay(pause, stop);
                var walk = System.Diagnostics.Stopwatch.StartNew();
                var bytes = directories.Sum(Sandbox.DiskUsage.Bytes);
                pause = Sandbox.DiskUsage.Pause(period, walk.Elapsed);
                if (bytes <= limitBytes) continue;
                await KillAsync();
                return true;
            }
        }
        catch (OperationCanceledException)
        {
        }

        return false;
    }

    /// <summary>SIGKILL to every process of the container (cancel, timeout): the container ends at once.</summary>
    public async Task KillAsync()
    {
        try
        {
            await _engine.Client.Containers.KillContainerAsync(Id, new ContainerKillParameters { Signal = "KILL" });
        }
        catch (DockerApiException)
        {
            // Not running any more (or already removed): what a kill wanted.
        }
    }

    /// <summary>SIGTERM to the container's processes (docker-init passes it on), SIGKILL after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (!_exited.Task.IsCompleted)
        {
            try
            {
                await _engine.Client.Containers.StopContainerAsync(Id, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)Math.Ceiling(grace.TotalSeconds) });
            }
            catch (DockerApiException)
            {
                await KillAsync();
            }
        }

        await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_exited.Task.IsCompleted) await KillAsync();
        await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
        await _engine.RemoveAsync(Id);
    }

    private async Task FollowAsync(MultiplexedStream output, Action<string, string> line)
    {
        try
        {
            using (output)
            {
                var stdout = new LineSplitter(BuildLogStreams.Stdout, line);
                var stderr = new LineSplitter(BuildLogStreams.Stderr, line);
                var buffer = new byte[16 * 1024];
                while (true)
                {
                    var read = await output.ReadOutputAsync(buffer, 0, buffer.Length, CancellationToken.None);
                    if (read.EOF) break;
                    (read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout).Add(buffer.AsSpan(0, read.Count));
                }

                stdout.Flush();
                stderr.Flush();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or DockerApiException)
        {
            // The attach ended with the container (or dockerd went away): the wait below still says how it ended.
        }

        try
        {
            var wait = await _engine.Client.Containers.WaitContainerAsync(Id);
            var state = await _engine.Client.Containers.InspectContainerAsync(Id);
            _exited.TrySetResult(new ContainerExit(wait.StatusCode, state.State.OOMKilled));
        }
        catch (Exception)
        {
            // Removed under us or dockerd is gone: it has ended all the same, cause unknown (reported as killed).
            _exited.TrySetResult(new ContainerExit(137, false));
        }
    }

    /// <summary>Bytes to lines of one stream: UTF-8 decoded across chunk boundaries, a trailing '\r' dropped.</summary>
    private sealed class LineSplitter(string stream, Action<string, string> line)
    {
        private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();
        private readonly StringBuilder _pending = new();
        private char[] _chars = new char[16 * 1024];

        public void Add(ReadOnlySpan<byte> bytes)
        {
            var needed = _decoder.GetCharCount(bytes, flush: false);
            if (needed > _chars.Length) _chars = new char[needed];
            var count = _decoder.GetChars(bytes, _chars, flush: false);
            var start = 0;
            for (var i = 0; i < count; i++)
            {
                if (_chars[i] != '\n') continue;
                _pending.Append(_chars, start, i - start);
                Emit();
                start = i + 1;
            }

            _pending.Append(_chars, start, count - start);
        }

        public void Flush()
        {
            if (_pending.Length > 0) Emit();
        }

        private void Emit()
        {
            if (_pending.Length > 0 && _pending[^1] == '\r') _pending.Length--;
            line(stream, _pending.ToString());
            _pending.Clear();
        }
    }
}
