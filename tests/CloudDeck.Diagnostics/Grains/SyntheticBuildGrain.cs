using System.Diagnostics;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Diagnostics;

/// <summary>
/// Writes a synthetic log to a build at a steady pace: a grain timer ticks every few milliseconds and appends, in
/// batches, every line that is due by then, each stamped with the time it is appended (which is what the latency
/// benchmark measures from). Appends name their first position, so a retried append never writes a line twice.
/// Progress lives in memory: this is a test producer, and a silo that dies mid-build leaves that build building.
/// </summary>
public sealed class SyntheticBuildGrain(ILogStreamProvider streams, TimeProvider clock, ILogger<SyntheticBuildGrain> logger)
    : Grain, ISyntheticBuildGrain
{
    private static readonly TimeSpan TickPeriod = TimeSpan.FromMilliseconds(5);

    /// <summary>Lines per append; a tick at a high rate makes several appends.</summary>
    private const int BatchLines = 500;

    /// <summary>Lines one tick writes at most, so "as fast as possible" still gives other calls a turn.</summary>
    private const int TickLines = 5000;

    private SyntheticBuildRequest? _request;
    private IDisposable? _timer;
    private long _startedAt;
    private int _produced;
    private long _nextPosition = 1;
    private IReadOnlyList<BuildLogLine>? _pending;
    private int _pendingLines;
    private bool _finished;

    private string BuildId => this.GetPrimaryKeyString();

    public async Task<BuildView> Start(Caller caller, SyntheticBuildRequest request)
    {
        if (request.Problem() is var (field, problem)) throw new InvalidFieldException(field, problem);
        if (_request is not null) throw new ConflictException($"Build '{BuildId}' is already being produced.");
        var build = GrainFactory.GetGrain<IBuildGrain>(BuildId);
        await build.Create(caller, request.Organization, request.Project);
        var view = await build.Start();
        _request = request;
        _startedAt = Stopwatch.GetTimestamp();
        _timer = this.RegisterGrainTimer(ProduceAsync, new GrainTimerCreationOptions(TimeSpan.Zero, TickPeriod) { KeepAlive = true });
        logger.LogInformation("Synthetic build {BuildId}: {Lines} lines of {LineBytes} bytes at {Rate} lines/s in {Organization}",
            BuildId, request.Lines, request.LineBytes, request.LinesPerSecond, request.Organization);
        return view;
    }

    public Task<SyntheticBuildProgress> GetProgress() =>
        Task.FromResult(new SyntheticBuildProgress(BuildId, _request?.Lines ?? 0, _produced, _nextPosition - 1, _finished));

    private async Task ProduceAsync(CancellationToken cancellationToken)
    {
        if (_request is not { } request || _finished) return;
        var log = streams.GetStream<BuildLogLine>(BuildLogs.Namespace, BuildId);
        var due = request.LinesPerSecond == 0
            ? request.Lines
            : (int)Math.Min(request.Lines, Stopwatch.GetElapsedTime(_startedAt).TotalSeconds * request.LinesPerSecond);
        var limit = Math.Min(due, _produced + TickLines);
        while (_produced < limit && !cancellationToken.IsCancellationRequested)
        {
            // A batch whose append failed is retried as it was, at the same position: written once either way.
            if (_pending is null)
            {
                _pendingLines = Math.Min(BatchLines, limit - _produced);
                var now = clock.GetUtcNow();
                _pending = [.. Enumerable.Range(_produced + 1, _pendingLines)
                    .SelectMany(n => BuildLogs.Split(SyntheticBuildLog.Line(n, request.LineBytes, now)))];
            }

            var last = await log.AppendBatchAsync(_pending, new LogPosition(_nextPosition));
            _nextPosition = last.SequenceNumber + 1;
            _produced += _pendingLines;
            _pending = null;
        }

        if (_produced == request.Lines)
        {
            await GrainFactory.GetGrain<IBuildGrain>(BuildId).Finish(request.Status);
            _finished = true;
            _timer?.Dispose();
            logger.LogInformation("Synthetic build {BuildId} finished: {Lines} lines, {Status}", BuildId, request.Lines, request.Status);
        }
    }
}
