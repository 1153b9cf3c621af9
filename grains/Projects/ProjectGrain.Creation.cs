using System.Security.Cryptography;
using Actors.Extensions.Records;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Deployments;
using CloudDeck.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// Creating deployments: uploads, redeploys of a git ref and git pushes all go through <see cref="CreateDeploymentAsync"/>,
/// the one place that decides. It checks the source, takes one quota reservation (the day's deployment and its build
/// together), has the deployment start, and writes the history row and the audit entry in one transaction; when any step
/// refuses or fails, what earlier steps took is given back.
/// </summary>
public sealed partial class ProjectGrain
{
    /// <summary>Who a deployment started by a webhook was created by (no user is signed in).</summary>
    public const string GitPushActor = "git-push";

    /// <summary>Deployments moved per transaction from the state of an earlier version into the history table.</summary>
    private const int MigrationBatch = 500;

    /// <summary>The highest sequence handed out (read from the history when first needed); the next deployment gets the one after.</summary>
    private long? _lastSequence;

    /// <summary>The read of the history's highest sequence, shared by creations that start together.</summary>
    private Task<long>? _lastSequenceRead;

    /// <summary>Creations under way (they interleave); a delete waits for them to finish before it looks at the history.</summary>
    private int _creationsUnderWay;

    private TaskCompletionSource? _creationsDone;

    /// <summary>Set while the project is being deleted: no creation starts.</summary>
    private bool _deleting;

    public async Task<DeploymentView> Deploy(Caller caller, DeploymentSource source, string target)
    {
        ArgumentNullException.ThrowIfNull(source);
        // Asked first: another tenant learns nothing, not even whether the project exists.
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        var origin = new DeploymentOrigin(caller.UserId, caller.ClientAddress, source.Files is null ? "git" : "upload",
            UnverifiedUser: caller.EmailVerified ? null : caller.UserId);
        return await CreateDeploymentAsync(origin, source, target, push: null);
    }

    public async Task<PushReceipt> ReceivePush(byte[] payload, string? signature, string? deliveryId)
    {
        // An unknown project answers as a wrong signature does, so the anonymous route does not reveal project names.
        if (!Project.Created || !SignatureMatches(payload, signature))
        {
            throw new UnauthenticatedException($"{SignaturePrefix}… signature (X-Hub-Signature-256) does not match this project's webhook secret.");
        }

        var push = ReadPush(payload);
        if (push is not var (branch, commit, pushedAt)) return new PushReceipt(null);
        // The signature covers the body, not the delivery id, so a replay is recognized by either; and a push older
        // than the window the deliveries are remembered for is refused, as its delivery may have been forgotten.
        var now = clock.GetUtcNow();
        if (pushedAt is { } at && at < now - GitDeliveries.Window)
        {
            throw new InvalidFieldException("repository.pushed_at",
                $"is {at:u}, older than {GitDeliveries.Window.TotalDays:0} days: a replayed delivery, not a new push");
        }

        var payloadSha256 = Convert.ToHexStringLower(SHA256.HashData(payload));
        var (earlier, remembered) = await history.FindDeliveryAsync(Key, deliveryId, payloadSha256, now - GitDeliveries.Window);
        if (earlier is not null) return new PushReceipt(null, earlier);
        if (Project.GitUrl is null && Project.LocalPath is null)
        {
            throw new ConflictException($"Project '{Name}' has no git source (git_url or local_path) to deploy a push from.");
        }

        var target = branch == Project.ProductionBranch ? DeploymentTargets.Production : DeploymentTargets.Preview;
        var origin = new DeploymentOrigin(GitPushActor, "webhook", "git_push", UnverifiedUser: null, Detail: $", {branch}@{commit[..Math.Min(12, commit.Length)]}");
        var delivery = new PushDelivery(deliveryId, payloadSha256, now, remembered);
        return new PushReceipt(await CreateDeploymentAsync(origin, new DeploymentSource(GitRef: commit, Branch: branch), target, delivery));
    }

    /// <summary>
    /// The one path that creates a deployment. Refusals come before anything is taken (the source, the unverified
    /// account's allowance, the reservation); from the reservation on, a failure gives back everything taken so far, so a
    /// refused or failed creation leaves no counted quota, no deployment and no history row behind.
    /// </summary>
    private async Task<DeploymentView> CreateDeploymentAsync(DeploymentOrigin origin, DeploymentSource source, string target, PushDelivery? push)
    {
        if (!Project.Created || _deleting) throw NotFound();
        _creationsUnderWay++;
        try
        {
            return await CreateAsync(origin, source, target, push);
        }
        finally
        {
            if (--_creationsUnderWay == 0) _creationsDone?.TrySetResult();
        }
    }

    /// <summary>For a delete: no creation starts from now on, and the ones under way have finished (their rows are written).</summary>
    private async Task StopCreationsAsync()
    {
        _deleting = true;
        if (_creationsUnderWay == 0) return;
        _creationsDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _creationsDone.Task;
        _creationsDone = null;
    }

    private async Task<DeploymentView> CreateAsync(DeploymentOrigin origin, DeploymentSource source, string target, PushDelivery? push)
    {
        if (!DeploymentTargets.IsValid(target)) throw new InvalidFieldException("target", "must be production or preview");
        var project = View(Project, forBuild: false);
        var (resolved, commit) = DeploymentSources.Resolve(project, source, artifacts);
        var id = DeploymentIds.New();
        CloudDeckActivities.TagDeployment(Organization, Name, id);
        await audit.EnsureMigratedAsync(Organization);

        // Until the address is proven, an account deploys only a few times (CloudDeck:Accounts:UnverifiedDeployments).
        var allowance = origin.UnverifiedUser is { } user ? GrainFactory.GetGrain<IUnverifiedAllowanceGrain>(user) : null;
        if (allowance is not null) await allowance.Use(0, 1);
        var quota = GrainFactory.GetGrain<IOrganizationQuotaGrain>(Organization);
        var deployment = GrainFactory.GetGrain<IDeploymentGrain>(id);
        var reserved = false;
        var started = false;
        try
        {
            await quota.Reserve(new QuotaReservation(id, [QuotaLimits.DeploymentsPerDay, QuotaLimits.BuildsPerDay], [QuotaLimits.BuildMinutesPerMonth]));
            reserved = true;
            // Taken now, whatever happens next: a creation that fails from here leaves a gap in the numbering, never a number twice.
            var sequence = await NextSequenceAsync();
            var view = await deployment.Start(new DeploymentStart(project, resolved, commit, target, origin.Actor, sequence, BuildIds.New()));
            started = true;

            List<RecordWrite> rows = [ProjectHistory.Row(Key, view)];
            if (push is not null) rows.AddRange(ProjectHistory.Rows(Key, new GitDelivery(push.DeliveryId, push.PayloadSha256, id, push.ReceivedAt), push.Remembered));
            rows.Add(audit.Entry(Organization, origin.Actor, "deployment.created", $"{Name}: {id} ({target}{origin.Detail})", origin.ClientAddress));
            // The row, the delivery (a redelivery after a crash before this deploys again, never drops a push) and the audit entry: one transaction.
            await history.WriteAsync(rows);
            CloudDeckMetrics.DeploymentCreated(origin.Kind);
            return view;
        }
        catch
        {
            await GiveBackAsync(started ? deployment : null, reserved ? quota : null, allowance, id);
            throw;
        }
    }

    /// <summary>Undoes what a failed creation took, newest first; a step that fails too is logged, and the first error is the caller's answer.</summary>
    private async Task GiveBackAsync(IDeploymentGrain? started, IOrganizationQuotaGrain? quota, IUnverifiedAllowanceGrain? allowance, string id)
    {
        if (started is not null)
        {
            await Attempt(async () =>
            {
                // A reason for the user; the storage error itself is the caller's answer.
                var abandoned = await started.Abandon("Its creation did not complete (the project's history could not be written); deploy again.");
                // Listed as it ended, once the history takes rows again (its sequence stays its own either way).
                await history.WriteAsync([ProjectHistory.Row(Key, abandoned)]);
            }, id);
        }

        if (quota is not null) await Attempt(() => quota.Return(id), id);
        if (allowance is not null) await Attempt(() => allowance.GiveBack(0, 1), id);
    }

    private async Task Attempt(Func<Task> undo, string id)
    {
        try
        {
            await undo();
        }
        catch (Exception e)
        {
            LogUndoFailed(logger, e, id, Key);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Undoing the failed creation of deployment {DeploymentId} of {Project} did not complete")]
    private static partial void LogUndoFailed(ILogger logger, Exception exception, string deploymentId, string project);

    /// <summary>The next sequence, taken without awaiting once the history's last one is known: interleaved creations never share one.</summary>
    private async Task<long> NextSequenceAsync()
    {
        if (_lastSequence is null)
        {
            long last;
            try
            {
                last = await (_lastSequenceRead ??= history.LastSequenceAsync(Key));
            }
            catch
            {
                // Read again by the next creation, rather than failing every one until the activation goes.
                _lastSequenceRead = null;
                throw;
            }

            _lastSequence ??= last;
        }

        _lastSequence++;
        return _lastSequence.Value;
    }

    /// <summary>
    /// A project stored by an earlier version kept every deployment in its state, rewritten on each change: moved into
    /// the history table (at their own sequences, so doing it again after a crash rewrites the same rows), then dropped.
    /// </summary>
    private async Task MoveLegacyHistoryAsync(CancellationToken cancellationToken)
    {
        if (Project.Deployments is not { Count: > 0 } legacy) return;
        foreach (var batch in legacy.Chunk(MigrationBatch))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await history.WriteAsync([.. batch.Select(d => ProjectHistory.Row(Key, d))]);
        }

        Project.Deployments = [];
        if (Project.ProductionHistory.Count > MaxProductionHistory)
        {
            Project.ProductionHistory.RemoveRange(0, Project.ProductionHistory.Count - MaxProductionHistory);
        }

        await state.WriteStateAsync(cancellationToken);
    }

    /// <param name="Kind">upload, git or git_push (the metric's tag).</param>
    /// <param name="UnverifiedUser">A signed-in account whose address is not verified yet: its allowance counts the deployment.</param>
    /// <param name="Detail">Appended to the audit entry's target.</param>
    private sealed record DeploymentOrigin(string Actor, string ClientAddress, string Kind, string? UnverifiedUser, string Detail = "");

    /// <param name="Remembered">Where the delivery's keys were remembered before (outside the window), rewritten in place.</param>
    private sealed record PushDelivery(string? DeliveryId, string PayloadSha256, DateTimeOffset ReceivedAt, IReadOnlyDictionary<string, long> Remembered);
}
