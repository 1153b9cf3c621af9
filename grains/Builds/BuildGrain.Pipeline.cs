using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Usage;
using CloudDeck.Grains.Builds.Executor;
using CloudDeck.Grains.Telemetry;
using Microsoft.Extensions.Logging;

using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Grains.Notifications;

namespace CloudDeck.Grains.Builds;

/// <summary>The pipeline's side of the build grain: starting the run, its reports, the end, and builds whose run died.</summary>
public sealed partial class BuildGrain
{
    public const string CheckReminder = "build-check";

    private const string LostRunReason = "The silo running this build stopped before the build finished.";

    private TimeSpan CheckPeriod => runs?.Options.CheckPeriod ?? TimeSpan.FromMinutes(1);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A started build whose run is not in this process lost it with a silo (or with this process's previous life).
        if (!IsLostRun()) return;
        try
        {
            await FailLostRunAsync();
        }
        catch (Exception e)
        {
            // Activation must not fail over this: the reminder tries again.
            logger.LogWarning(e, "Failing build {BuildId}, whose run was lost, did not complete", Id);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != CheckReminder) return;
        if (!Build.Created || !Build.IsPipeline)
        {
            await UnregisterCheckAsync();
            return;
        }

        if (BuildStatuses.IsTerminal(Build.Status))
        {
            if (Build.DeploymentNotified) await UnregisterCheckAsync();
            else NotifyDeployment();
        }
        else if (Build.Status == BuildStatuses.Queued)
        {
            // The queue's message may have been lost: asking again answers whether a slot is ours.
            if (await Line.Enqueue(Id)) await StartRunAsync();
        }
        else if (IsLostRun())
        {
            await FailLostRunAsync();
        }
    }

    public async Task SlotGranted()
    {
        if (!Build.Created) return;
        if (Build.IsPipeline && Build.Status == BuildStatuses.Queued)
        {
            await StartRunAsync();
        }
        else if (BuildStatuses.IsTerminal(Build.Status))
        {
            // Canceled while the grant was on its way: the slot goes to the next in line.
            await Line.Released(Id);
        }
    }

    public async Task RequestSlot()
    {
        if (!Build.Created || !Build.IsPipeline || Build.Status != BuildStatuses.Queued) return;
        if (await Line.Enqueue(Id))
        {
            await StartRunAsync();
        }
        else
        {
            await AppendSystemLineAsync("Waiting for a free build slot: the organization's plan limits how many builds run at once.");
        }
    }

    public async Task<bool> Advance(string status)
    {
        if (!Build.Created || BuildStatuses.IsTerminal(Build.Status)) return false;
        if (!BuildStatuses.IsStarted(status)) throw new ArgumentException($"'{status}' is not a running stage.", nameof(status));
        if (Order(status) > Order(Build.Status))
        {
            Build.Status = status;
            await state.WriteStateAsync();
        }

        return true;
    }

    public async Task Complete(BuildOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (!Build.Created || BuildStatuses.IsTerminal(Build.Status)) return;
        await FinishAsync(outcome, null);
    }

    public async Task DeploymentNotified()
    {
        if (Build.DeploymentNotified) return;
        Build.DeploymentNotified = true;
        // The deployment keeps the files; the build need not carry them any longer.
        Build.Manifest = null;
        await state.WriteStateAsync();
        if (BuildStatuses.IsTerminal(Build.Status)) await UnregisterCheckAsync();
    }

    private static int Order(string status) => status switch
    {
        BuildStatuses.Queued => 0,
        BuildStatuses.Preparing => 1,
        BuildStatuses.Building => 2,
        BuildStatuses.Uploading => 3,
        _ => 4,
    };

    private bool IsLostRun() =>
        Build.Created && Build.IsPipeline && BuildStatuses.IsStarted(Build.Status) && runs?.IsRunning(Id) != true;

    private async Task FailLostRunAsync()
    {
        // Processes of the build that outlived their silo on this machine (they run in sessions of their own).
        ProcessTree.KillMarked(Id);
        logger.LogWarning("Build {BuildId} was {Status} with no run in this process: marking it failed", Id, Build.Status);
        await FinishAsync(new BuildOutcome(BuildStatuses.Failed, null, LostRunReason, null), LostRunReason + " It is marked failed; deploy again to retry.");
    }

    private async Task StartRunAsync()
    {
        if (runs is null)
        {
            const string missing = "This silo has no build pipeline configured (AddCloudDeckBuilds).";
            await FinishAsync(new BuildOutcome(BuildStatuses.Failed, null, missing, null), missing);
            return;
        }

        Build.Status = BuildStatuses.Preparing;
        Build.StartedAt = clock.GetUtcNow();
        await state.WriteStateAsync();
        runs.Start(new BuildJob(Id, Build.Organization, Build.Project, Build.DeploymentId!, Build.Environment, Build.Source ?? new DeploymentSource()), GrainFactory);
    }

    /// <summary>
    /// Ends the build: <paramref name="systemLine"/> (when no run writes the log) goes to the log, then the status is
    /// written, the deployment is told (beside what follows), the slot goes back, build minutes are counted and the log
    /// is completed.
    /// Every step after the write is repeated by a repeated call, since a first one may have stopped half-way.
    /// </summary>
    private async Task FinishAsync(BuildOutcome outcome, string? systemLine)
    {
        var quota = Quota;
        if (!BuildStatuses.IsTerminal(Build.Status))
        {
            if (systemLine is not null) await AppendSystemLineAsync(systemLine);
            Build.Status = outcome.Status;
            Build.FinishedAt = clock.GetUtcNow();
            Build.ExitCode = outcome.ExitCode;
            Build.Error = outcome.Error;
            Build.Manifest = outcome.Status == BuildStatuses.Succeeded ? outcome.Manifest : null;
            await state.WriteStateAsync();
            CloudDeckMetrics.BuildCompleted(outcome.Status, Build.FinishedAt.Value - (Build.StartedAt ?? Build.CreatedAt));
            if (Build.StartedAt is { } started)
            {
                // Whole minutes, rounded up, as build minutes are billed; recorded once, when the status becomes terminal.
                await quota.Record(QuotaLimits.BuildMinutesPerMonth, (long)Math.Ceiling((Build.FinishedAt.Value - started).TotalMinutes));
            }

            if (outcome.Status is BuildStatuses.Failed or BuildStatuses.TimedOut)
            {
                await Notify.EventAsync(GrainFactory, clock, NotificationEventTypes.BuildFailed, Build.Organization, Build.Project,
                    $"Build {Id} of {Build.Organization}/{Build.Project} {(outcome.Status == BuildStatuses.TimedOut ? "timed out" : "failed")}",
                    [new("build_id", Id), new("deployment_id", Build.DeploymentId), new("status", outcome.Status),
                     new("exit_code", outcome.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("error", outcome.Error)]);
            }
        }

        // First of what follows the write: the deployment's promotion is what the user waits for, and it need not wait for
        // the slot, the meter and the log's end (tens of milliseconds of every deploy).
        if (Build.IsPipeline && !Build.DeploymentNotified) NotifyDeployment();

        // Also on a repeated finish: the first one may have stopped before giving the slot back. The queue hands it on.
        await quota.ReleaseSlot(QuotaLimits.ConcurrentBuilds, Id);
        await Line.Released(Id);

        // Also on a repeated finish (the first may have stopped after its write): the id makes it count once.
        await MeterBuildMinutesAsync();

        // After the status is written, so a follower that sees the log end reads the final status.
        var log = streams.GetStream<BuildLogLine>(BuildLogs.Namespace, Id);
        if (!(await log.GetInfoAsync()).IsCompleted)
        {
            await log.CompleteAsync();
        }
    }

    /// <summary>
    /// Tells the deployment how its build ended, outside this turn: the deployment may be the one waiting on this grain
    /// (its Cancel calls ours). On success the build says so with <see cref="DeploymentNotified"/>; until then the
    /// reminder sends it again, so the deployment learns it at least once (<see cref="IDeploymentGrain.BuildFinished"/> is idempotent).
    /// </summary>
    private void NotifyDeployment()
    {
        var deployment = GrainFactory.GetGrain<IDeploymentGrain>(Build.DeploymentId!);
        var self = GrainFactory.GetGrain<IBuildExecutionGrain>(Id);
        var status = Build.Status == BuildStatuses.Succeeded ? DeploymentStatuses.Ready : Build.Status;
        var manifest = Build.Manifest;
        _ = Detached.Run(async () =>
        {
            await deployment.BuildFinished(status, manifest);
            await self.DeploymentNotified();
        }, logger, $"Telling deployment {Build.DeploymentId} that build {Id} ended", span: "build.report");
    }

    private async Task UnregisterCheckAsync()
    {
        if (await this.GetReminder(CheckReminder) is { } reminder) await this.UnregisterReminder(reminder);
    }

    private async Task AppendSystemLineAsync(string text)
    {
        var log = streams.GetStream<BuildLogLine>(BuildLogs.Namespace, Id);
        if ((await log.GetInfoAsync()).IsCompleted) return;
        await log.AppendBatchAsync([.. BuildLogs.Split(new BuildLogLine(clock.GetUtcNow(), BuildLogStreams.System, text))]);
    }

    /// <summary>Build minutes for the organization's meter: the time from start to finish, rounded up to whole minutes.</summary>
    private async Task MeterBuildMinutesAsync()
    {
        if (Build.StartedAt is not { } started || Build.FinishedAt is not { } finished) return;
        var minutes = (long)Math.Ceiling(Math.Max(0, (finished - started).TotalMinutes));
        if (minutes == 0) return;
        await streams.GetStream<UsageEvent>(UsageStreams.Namespace, Build.Organization)
            .AppendAsync(new UsageEvent($"build:{Id}", UsageKinds.BuildMinutes, minutes, finished));
    }
}
