using System.Collections.Concurrent;
using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.Grains.Builds.Executor;
using CloudDeck.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Builds;

/// <summary>
/// The builds this process is running, by build id. A run lives outside any grain turn (a build takes minutes; the
/// grain must stay free to answer Get and Cancel) and reports back through the build grain's own reference, so it
/// does not care whether the activation that started it is still there. Process-wide on purpose: a build grain that
/// was collected and activated again finds its run here, and one that finds none knows the run died with a silo.
/// </summary>
public sealed class BuildRuns(BuildOptions options, IBuildExecutor executor, ILogStreamProvider streams, TimeProvider clock,
    ILogger<BuildRuns> logger) : IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, BuildRun> _runs = new(StringComparer.Ordinal);
    private volatile bool _stopping;

    // What clouddeck.builds.running reads: the first BuildRuns of the process that started a build (a process hosts one silo;
    // tests with two in one process count one of them).
    private static BuildRuns? _observed;

    public BuildOptions Options => options;

    public bool IsRunning(string buildId) => _runs.ContainsKey(buildId);

    /// <summary>Starts the job unless it already runs here. Called on the build grain's turn.</summary>
    public void Start(BuildJob job, IGrainFactory grains)
    {
        if (_stopping) throw new InvalidOperationException("The silo is stopping; the build starts when its grain checks again.");
        if (_observed is null && Interlocked.CompareExchange(ref _observed, this, null) is null)
        {
            CloudDeckMetrics.ObserveRunningBuilds(() => _observed?._runs.Count ?? 0);
        }

        var run = new BuildRun(job.BuildId);
        if (!_runs.TryAdd(job.BuildId, run)) return;
        run.Task = Detached.Run(() => RunAsync(run, job, grains), logger, $"Build {job.BuildId}", span: "build.run");
    }

    /// <summary>
    /// Ends a run that is here with <paramref name="status"/> (canceled): kills its processes at once, then waits until
    /// its log is stored so that the grain completes the log after the last line. False when nothing runs here.
    /// </summary>
    public async Task<bool> StopAsync(string buildId, string status, string reason)
    {
        if (!_runs.TryGetValue(buildId, out var run)) return false;
        run.Stop(status, reason);
        await run.Drained.Task.WaitAsync(DrainWait).ContinueWith(_ => { }, TaskScheduler.Default);
        return true;
    }

    private async Task RunAsync(BuildRun run, BuildJob job, IGrainFactory grains)
    {
        CloudDeckActivities.TagDeployment(job.Organization, job.Project, job.DeploymentId, job.BuildId);
        var self = grains.GetGrain<IBuildExecutionGrain>(job.BuildId);
        var log = new BuildLogWriter(streams.GetStream<BuildLogLine>(BuildLogs.Namespace, job.BuildId), clock, logger);
        BuildContext? context = null;
        BuildOutcome outcome;
        try
        {
            await log.StartAsync();
            log.System($"Resource limits: {options.ProcessLimits.Describe()}");
            run.Cancellation.CancelAfter(options.Timeout);
            context = new BuildContext(log, self.Advance, grains);
            outcome = await executor.ExecuteAsync(job, context, run.Cancellation.Token);
        }
        catch (OperationCanceledException) when (run.Cancellation.IsCancellationRequested || context?.Superseded == true)
        {
            var (status, reason) = run.StopReason ?? (BuildStatuses.TimedOut,
                $"Timed out after {options.Timeout}: every process of the build was killed (CloudDeck:Builds:Timeout).");
            log.System(reason);
            outcome = new BuildOutcome(status, null, reason, null);
        }
        catch (BuildStepFailedException e)
        {
            outcome = Failed(log, e.Message, e.ExitCode);
        }
        catch (InvalidFieldException e)
        {
            outcome = Failed(log, $"{e.Field} {e.Message}", null);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Build {BuildId} failed in the executor", job.BuildId);
            outcome = Failed(log, e.Message, null);
        }

        try
        {
            await log.DisposeAsync();
        }
        finally
        {
            run.Drained.TrySetResult();
        }

        try
        {
            // Superseded (ended elsewhere) and abandoned (this silo stops) runs report nothing: the grain already knows,
            // or the next activation finds the build started with no run and fails it.
            if (context?.Superseded != true && !run.Abandoned) await ReportAsync(self, outcome, job.BuildId);
        }
        finally
        {
            _runs.TryRemove(new KeyValuePair<string, BuildRun>(job.BuildId, run));
            run.Cancellation.Dispose();
        }
    }

    private static BuildOutcome Failed(BuildLogWriter log, string message, int? exitCode)
    {
        var text = log.Masker.Apply(message);
        log.System($"Build failed: {text}");
        return new BuildOutcome(BuildStatuses.Failed, exitCode, text, null);
    }

    private async Task ReportAsync(IBuildExecutionGrain self, BuildOutcome outcome, string buildId)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await self.Complete(outcome);
                return;
            }
            catch (Exception e) when (attempt < 5 && !_stopping)
            {
                logger.LogWarning(e, "Reporting the end of build {BuildId} failed; retrying", buildId);
                await Task.Delay(TimeSpan.FromSeconds(attempt));
            }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>The silo stops: every run is killed and abandoned; its build is failed by whichever silo activates it next.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        Interlocked.CompareExchange(ref _observed, null, this);
        var runs = _runs.Values.ToList();
        foreach (var run in runs) run.Abandon();
        await Task.WhenAll(runs.Select(r => r.Task ?? Task.CompletedTask)).WaitAsync(DrainWait).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private sealed class BuildRun(string buildId)
    {
        private readonly Lock _gate = new();

        public string BuildId { get; } = buildId;

        public CancellationTokenSource Cancellation { get; } = new();

        public TaskCompletionSource Drained { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task? Task { get; set; }

        public (string Status, string Reason)? StopReason { get; private set; }

        public bool Abandoned { get; private set; }

        public void Stop(string status, string reason)
        {
            lock (_gate)
            {
                StopReason ??= (status, reason);
            }

            Cancel();
        }

        public void Abandon()
        {
            Abandoned = true;
            Stop(BuildStatuses.Failed, "The silo running this build stopped.");
        }

        private void Cancel()
        {
            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
