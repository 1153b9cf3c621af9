using System.Threading.Channels;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Builds;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds.Executor;

/// <summary>
/// Appends a build's output to its log stream: every line masked (<see cref="LogMasker"/>), split to the stream's line
/// size, stamped with the time it was read, and written in batches so a chatty install costs few appends. Appends
/// name their first position, so an append retried after a lost answer is written once.
/// </summary>
public sealed class BuildLogWriter : IAsyncDisposable
{
    private const int MaxBatchLines = 500;
    private const int Attempts = 3;

    private readonly ILogStream<BuildLogLine> _stream;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Channel<BuildLogLine> _lines = Channel.CreateUnbounded<BuildLogLine>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _pump;
    private long _next;

    public BuildLogWriter(ILogStream<BuildLogLine> stream, TimeProvider clock, ILogger logger)
    {
        _stream = stream;
        _clock = clock;
        _logger = logger;
    }

    public LogMasker Masker { get; } = new();

    /// <summary>Lines the log refused (the stream was completed under it: the build ended elsewhere).</summary>
    public int Dropped { get; private set; }

    public async Task StartAsync()
    {
        var info = await _stream.GetInfoAsync();
        _next = info.Last + 1;
        _pump = Task.Run(PumpAsync);
    }

    public void Write(string stream, string text)
    {
        var line = new BuildLogLine(_clock.GetUtcNow(), stream, Masker.Apply(text));
        foreach (var piece in BuildLogs.Split(line)) _lines.Writer.TryWrite(piece);
    }

    public void System(string text) => Write(BuildLogStreams.System, text);

    /// <summary>Waits until every line written so far is stored.</summary>
    public async ValueTask DisposeAsync()
    {
        _lines.Writer.TryComplete();
        if (_pump is not null) await _pump;
    }

    private async Task PumpAsync()
    {
        var batch = new List<BuildLogLine>(MaxBatchLines);
        while (await _lines.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatchLines && _lines.Reader.TryRead(out var line)) batch.Add(line);
            await AppendAsync(batch);
            batch.Clear();
        }
    }

    private async Task AppendAsync(List<BuildLogLine> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var last = await _stream.AppendBatchAsync([.. batch], new LogPosition(_next));
                _next = last.SequenceNumber + 1;
                return;
            }
            catch (LogSequenceConflictException)
            {
                // Someone else appended (a system line from the grain): continue after it rather than lose ours.
                var info = await _stream.GetInfoAsync();
                if (info.IsCompleted)
                {
                    Drop(batch, null);
                    return;
                }

                _next = info.Last + 1;
            }
            catch (Exception e) when (attempt < Attempts)
            {
                _logger.LogWarning(e, "Appending {Lines} lines to build log {Stream} failed; retrying", batch.Count, _stream.Id);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt));
            }
            catch (Exception e)
            {
                Drop(batch, e);
                return;
            }
        }
    }

    private void Drop(List<BuildLogLine> batch, Exception? error)
    {
        // A log that cannot take lines must not stop the build itself (nor leave it running): count and go on.
        Dropped += batch.Count;
        _logger.LogWarning(error, "Dropped {Lines} lines of build log {Stream}", batch.Count, _stream.Id);
    }
}
