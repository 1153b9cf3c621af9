using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;

namespace CloudDeck.Grains.Deployments;

/// <summary>After creation: the build's answer, the aliases, promote, cancel and delete.</summary>
public sealed partial class DeploymentGrain
{
    public async Task BuildFinished(string status, DeploymentManifest? manifest)
    {
        // A build whose deployment was never written (its write failed) has nobody to report to.
        if (!Deployment.Created) return;
        var final = status switch
        {
            DeploymentStatuses.Ready or BuildStatuses.Succeeded => DeploymentStatuses.Ready,
            DeploymentStatuses.Failed or DeploymentStatuses.Canceled or DeploymentStatuses.TimedOut => status,
            _ => throw new InvalidFieldException("status", "must be ready (or succeeded), failed, canceled or timed_out"),
        };
        if (Deployment.Status == DeploymentStatuses.Building)
        {
            if (final == DeploymentStatuses.Ready && manifest is null) throw new InvalidFieldException("manifest", "is required for a ready deployment");
            Deployment.Status = final;
            Deployment.Manifest = final == DeploymentStatuses.Ready ? manifest : null;
            Deployment.ReadyAt = final == DeploymentStatuses.Ready ? clock.GetUtcNow() : null;
            await state.WriteStateAsync();
            await GrainFactory.GetGrain<IProjectGrain>(ProjectKey).RecordDeployment(View());
        }

        if (Deployment.Status == DeploymentStatuses.Ready && !Deployment.AliasesApplied) await ApplyAliasesAsync();
    }

    public async Task<DeploymentView> Promote(Caller caller)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        if (Deployment.Status != DeploymentStatuses.Ready)
        {
            throw new ConflictException($"Deployment '{Id}' is {Deployment.Status}; only a ready deployment can serve production.");
        }

        var previous = await PointProductionHereAsync();
        await AuditAsync(caller.UserId, caller.ClientAddress, "deployment.promoted", $"{Deployment.Project}: {previous ?? "none"} -> {Id}");
        return View();
    }

    public async Task<DeploymentView> Cancel(Caller caller)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        if (Deployment.Status != DeploymentStatuses.Building) return View();
        if (Deployment.BuildId is { } buildId)
        {
            var build = await GrainFactory.GetGrain<IBuildGrain>(buildId).Cancel(caller);
            // A build that finished first reports its own status through BuildFinished.
            if (build.Status != BuildStatuses.Canceled) return View();
        }

        Deployment.Status = DeploymentStatuses.Canceled;
        await state.WriteStateAsync();
        await GrainFactory.GetGrain<IProjectGrain>(ProjectKey).RecordDeployment(View());
        await AuditAsync(caller.UserId, caller.ClientAddress, "deployment.canceled", $"{Deployment.Project}: {Id}");
        return View();
    }

    public async Task Delete(Caller caller)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        var project = await GrainFactory.GetGrain<IProjectGrain>(ProjectKey).Get(caller);
        if (project.ProductionDeploymentId == Id)
        {
            throw new ConflictException($"Deployment '{Id}' serves production of '{Deployment.Project}'; promote or roll back to another one first.");
        }

        if (Deployment.Status == DeploymentStatuses.Building) throw new ConflictException($"Deployment '{Id}' is still building; cancel it first.");
        if (Deployment.AliasesApplied && Deployment.Branch is { } branch)
        {
            // Its branch's preview stops serving only if it still points here; a newer push already moved it otherwise.
            var preview = GrainFactory.GetGrain<IAliasGrain>(Hostnames.Preview(Deployment.Organization, Deployment.Project, branch, edge.BaseDomain));
            if ((await preview.Get())?.DeploymentId == Id) await preview.Remove();
        }

        await MarkDeletedAsync();
        await GrainFactory.GetGrain<IProjectGrain>(ProjectKey).RecordDeployment(View());
        await AuditAsync(caller.UserId, caller.ClientAddress, "deployment.deleted", $"{Deployment.Project}: {Id}");
    }

    public async Task ProjectDeleted()
    {
        if (Exists) await MarkDeletedAsync();
    }

    private async Task MarkDeletedAsync()
    {
        // The record stays (its id is never reused); the manifest goes, so the edge stops serving it.
        Deployment.Status = DeploymentStatuses.Deleted;
        Deployment.Manifest = null;
        await state.WriteStateAsync();
    }

    private async Task ApplyAliasesAsync()
    {
        if (Deployment.Branch is { } branch)
        {
            await GrainFactory.GetGrain<IAliasGrain>(Hostnames.Preview(Deployment.Organization, Deployment.Project, branch, edge.BaseDomain))
                .Set(ProjectKey, Id);
        }

        if (Deployment.Target == DeploymentTargets.Production) await PointProductionHereAsync();
        Deployment.AliasesApplied = true;
        await state.WriteStateAsync();
    }

    /// <summary>The one alias write that moves production, then the project's record of it (for rollback). Answers the previous deployment.</summary>
    private async Task<string?> PointProductionHereAsync()
    {
        var previous = await GrainFactory.GetGrain<IAliasGrain>(Hostnames.Production(Deployment.Organization, Deployment.Project, edge.BaseDomain))
            .Set(ProjectKey, Id);
        await GrainFactory.GetGrain<IProjectGrain>(ProjectKey).RecordProduction(Id);
        return previous;
    }
}
