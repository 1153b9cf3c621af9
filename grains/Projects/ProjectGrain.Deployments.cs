using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Servers;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// The project's deployment history (rows of <see cref="ProjectHistory"/>, not grain state), which one production serves,
/// and rollback.
/// </summary>
public sealed partial class ProjectGrain
{
    public const int MaxPageSize = 100;

    /// <summary>Production switches remembered in state (for rollback's "previous" among promoted previews), the newest kept.</summary>
    public const int MaxProductionHistory = 100;

    public async Task<DeploymentPage> ListDeployments(Caller caller, long? before, int limit)
    {
        await AuthorizeExisting(caller, OrganizationActions.ViewBuilds);
        var (page, next) = await history.PageAsync(Key, before, Math.Clamp(limit, 1, MaxPageSize), d => d.Status != DeploymentStatuses.Deleted);
        return new DeploymentPage(page, next);
    }

    public async Task<long> RecordDeployment(DeploymentView deployment)
    {
        if (!Project.Created) throw NotFound();
        if (deployment.Organization != Organization || deployment.Project != Name)
        {
            throw new ArgumentException($"Deployment '{deployment.Id}' belongs to {deployment.Organization}/{deployment.Project}, not {Key}.", nameof(deployment));
        }

        if (deployment.Sequence >= 1)
        {
            await history.WriteAsync([ProjectHistory.Row(Key, deployment)]);
            await NotifyAsync(deployment);
            return deployment.Sequence;
        }

        // A deployment an earlier version wrote before the project numbered it: its row where it is, else a new one at the end.
        var known = await history.FindAsync(Key, deployment.Id);
        var row = ProjectHistory.Row(Key, deployment) with { Position = known?.Sequence };
        var sequence = (await history.WriteAsync([row]))[0];
        if (_lastSequence < sequence) _lastSequence = sequence;
        await NotifyAsync(deployment);
        return sequence;
    }

    public async Task<IReadOnlyList<string>> LiveDeploymentIds()
    {
        if (!Project.Created) return [];
        var live = new List<string>();
        await foreach (var deployment in history.NewestFirstAsync(Key))
        {
            if (deployment.Status != DeploymentStatuses.Deleted) live.Add(deployment.Id);
        }

        return live;
    }

    public async Task RecordProduction(string deploymentId)
    {
        if (!Project.Created) throw NotFound();
        if (Project.CurrentProduction() == deploymentId) return;
        RememberProduction(deploymentId);
        await state.WriteStateAsync();
        await Index.Put(View(Project));
    }

    public async Task<DeploymentView> Rollback(Caller caller, string? deploymentId)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        var current = Project.CurrentProduction();
        DeploymentView target;
        if (deploymentId is not null)
        {
            if (!DeploymentIds.IsWellFormed(deploymentId)) throw new InvalidFieldException("deployment_id", DeploymentIds.Rule);
            target = await history.FindAsync(Key, deploymentId) is { } found && found.Status != DeploymentStatuses.Deleted
                ? found
                : throw new NotFoundException($"Deployment '{deploymentId}' not found in project '{Name}'.");
            if (target.Status != DeploymentStatuses.Ready) throw new ConflictException($"Deployment '{deploymentId}' is {target.Status}, not ready; only a ready deployment can serve production.");
        }
        else
        {
            // "Previous" is older than the one serving now, so repeated rollbacks walk further back instead of toggling.
            var currentSequence = current is null ? null : (await history.FindAsync(Key, current))?.Sequence;
            target = await PreviousProductionAsync(current, currentSequence)
                     ?? throw new ConflictException($"Project '{Name}' has no earlier ready production deployment to roll back to.");
        }

        if (target.Id != current)
        {
            // Zero downtime for a server: healthy before the alias moves; the one it replaces drains, then stops.
            await ServerSwap.PrepareAsync(GrainFactory, target.Id, servers);
            // The one write that moves every edge; the history below only remembers it for the next rollback.
            await GrainFactory.GetGrain<IAliasGrain>((await ClaimHosts(branch: null)).Production).Set(Key, target.Id);
            CloudDeckMetrics.ProductionSwitched("rollback");
            ServerSwap.Retire(GrainFactory, current, target.Id, servers, logger);
            RememberProduction(target.Id);
            await state.WriteStateAsync();
            await Index.Put(View(Project));
        }

        await AuditAsync(caller, "deployment.rolled_back", $"{Name}: {current ?? "none"} -> {target.Id}");
        await Notify.EventAsync(GrainFactory, clock, NotificationEventTypes.DeploymentRolledBack, Organization, Name,
            $"Production of {Key} rolled back to deployment {target.Id}",
            [new("deployment_id", target.Id), new("previous_deployment_id", current), new("by", caller.Email), new("url", target.Url)]);
        return target;
    }

    /// <summary>The newest ready deployment older than <paramref name="currentSequence"/> that was made for production or has served it.</summary>
    private async Task<DeploymentView?> PreviousProductionAsync(string? current, long? currentSequence)
    {
        await foreach (var deployment in history.NewestFirstAsync(Key, currentSequence))
        {
            if (deployment.Status == DeploymentStatuses.Ready && deployment.Id != current
                && (deployment.Target == DeploymentTargets.Production || Project.ProductionHistory.Contains(deployment.Id)))
            {
                return deployment;
            }
        }

        return null;
    }

    /// <summary>
    /// The deployment's event, if its status makes one. Every RecordDeployment is a transition (final, canceled, deleted, a
    /// server's check), so an event is made once per change.
    /// </summary>
    private Task NotifyAsync(DeploymentView deployment) => DeploymentEvent(deployment.Status) is { } type
        ? Notify.EventAsync(GrainFactory, clock, type, Organization, Name,
            $"Deployment {deployment.Id} of {Key} ({deployment.Target}) {(type == NotificationEventTypes.DeploymentReady ? "is ready" : deployment.Status == DeploymentStatuses.TimedOut ? "timed out" : "failed")}",
            [new("deployment_id", deployment.Id), new("status", deployment.Status), new("target", deployment.Target), new("branch", deployment.Branch),
             new("commit", deployment.Commit), new("build_id", deployment.BuildId), new("error", deployment.Error), new("url", deployment.Url)])
        : Task.CompletedTask;

    private static string? DeploymentEvent(string status) => status switch
    {
        DeploymentStatuses.Ready => NotificationEventTypes.DeploymentReady,
        DeploymentStatuses.Failed or DeploymentStatuses.TimedOut => NotificationEventTypes.DeploymentFailed,
        _ => null,
    };

    private void RememberProduction(string deploymentId)
    {
        Project.ProductionHistory.Add(deploymentId);
        if (Project.ProductionHistory.Count > MaxProductionHistory)
        {
            Project.ProductionHistory.RemoveRange(0, Project.ProductionHistory.Count - MaxProductionHistory);
        }
    }
}
