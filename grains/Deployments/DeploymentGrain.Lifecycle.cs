using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.GrainInterfaces.Servers;
using CloudDeck.Grains.Builds;
using CloudDeck.GrainInterfaces.Notifications;
using CloudDeck.Grains.Notifications;
using CloudDeck.Grains.Servers;
using CloudDeck.Grains.Telemetry;

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
            if (final == DeploymentStatuses.Ready && !Deployment.ServerPending)
            {
                try
                {
                    // Its files are counted and kept before it can serve them (a build's output is counted here).
                    await ReferenceAsync(Deployment.Organization, manifest!.Files);
                }
                catch (PlanLimitExceededException refused)
                {
                    final = DeploymentStatuses.Failed;
                    Deployment.Error = "Its files could not be stored: " + Readable(refused);
                }
            }

            if (final == DeploymentStatuses.Ready && manifest!.Server is not null)
            {
                // A server is ready once it answers its health check: that runs outside this turn, and reports back.
                if (!Deployment.ServerPending)
                {
                    Deployment.Manifest = manifest;
                    Deployment.ServerPending = true;
                    await state.WriteStateAsync();
                }

                CheckServer();
                return;
            }

            var held = final == DeploymentStatuses.Ready ? [] : HeldHashes();
            Deployment.Status = final;
            Deployment.Manifest = final == DeploymentStatuses.Ready ? manifest : null;
            Deployment.ReadyAt = final == DeploymentStatuses.Ready ? clock.GetUtcNow() : null;
            if (final != DeploymentStatuses.Ready) Deployment.StorageReferences = null;
            await state.WriteStateAsync();
            await ReleaseStorageAsync(held);
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

        // Zero downtime: the server answers its health check before the alias moves, and the old one drains after.
        if (Deployment.Manifest?.Server is not null) await ServerSwap.PrepareAsync(GrainFactory, Id, servers);
        var previous = await PointProductionHereAsync();
        CloudDeckMetrics.ProductionSwitched("promote");
        ServerSwap.Retire(GrainFactory, previous, Id, servers, logger);
        await AuditAsync(caller.UserId, caller.ClientAddress, "deployment.promoted", $"{Deployment.Project}: {previous ?? "none"} -> {Id}");
        await Notify.EventAsync(GrainFactory, clock, NotificationEventTypes.DeploymentPromoted, Deployment.Organization, Deployment.Project,
            $"Deployment {Id} of {ProjectKey} promoted to production",
            [new("deployment_id", Id), new("previous_deployment_id", previous), new("by", caller.Email), new("url", View().Url)]);
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

        var held = HeldHashes();
        Deployment.Status = DeploymentStatuses.Canceled;
        Deployment.StorageReferences = null;
        await state.WriteStateAsync();
        await ReleaseStorageAsync(held);
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
            var preview = GrainFactory.GetGrain<IAliasGrain>(Deployment.PreviewHost ?? Hostnames.Preview(Deployment.Organization, Deployment.Project, branch, edge.BaseDomain));
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
        // The record stays (its id is never reused); the manifest goes, so the edge stops serving it, and its files are
        // released for the organization's storage to let go after the grace period.
        var server = Deployment.Manifest?.Server is not null;
        var held = HeldHashes();
        Deployment.Status = DeploymentStatuses.Deleted;
        Deployment.Manifest = null;
        Deployment.ServerPending = false;
        Deployment.StorageReferences = null;
        await state.WriteStateAsync();
        await ReleaseStorageAsync(held);
        if (server) await GrainFactory.GetGrain<IServerGrain>(Id).Remove();
        // Every edge forgets what it cached for {id}.{base} now, not when its cache entry expires.
        await streams.GetStream<AliasChange>(AliasChanges.Namespace, AliasChanges.Key).AppendAsync(AliasChanges.DeploymentDeleted(Id));
    }

    public Task<ServerLaunch?> GetServerLaunch() => Task.FromResult(
        Exists && Deployment.Manifest is { Server: not null } manifest && Deployment.Status is DeploymentStatuses.Ready or DeploymentStatuses.Building
            ? new ServerLaunch(ProjectKey, Deployment.Target, manifest)
            : null);

    public async Task ServerChecked(string? failure)
    {
        _checkingServer = false;
        if (!Deployment.ServerPending || Deployment.Status != DeploymentStatuses.Building) return;
        Deployment.ServerPending = false;
        var held = failure is null ? [] : HeldHashes();
        if (failure is null)
        {
            Deployment.Status = DeploymentStatuses.Ready;
            Deployment.ReadyAt = clock.GetUtcNow();
        }
        else
        {
            Deployment.Status = DeploymentStatuses.Failed;
            Deployment.Error = failure;
            Deployment.Manifest = null;
            Deployment.StorageReferences = null;
        }

        await state.WriteStateAsync();
        await ReleaseStorageAsync(held);
        await GrainFactory.GetGrain<IProjectGrain>(ProjectKey).RecordDeployment(View());
        if (failure is not null)
        {
            // Nothing of a failed deployment keeps running or stays on disk (its start already stopped the process).
            await GrainFactory.GetGrain<IServerGrain>(Id).Remove();
            return;
        }

        if (!Deployment.AliasesApplied) await ApplyAliasesAsync();
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // A silo that died during the first health check left the deployment building: check again.
        if (Deployment.ServerPending && Deployment.Status == DeploymentStatuses.Building) CheckServer();
        return Task.CompletedTask;
    }

    private bool _checkingServer;

    /// <summary>Starts the server and waits for its health check outside this turn; the answer comes back as <see cref="ServerChecked"/>.</summary>
    private void CheckServer()
    {
        if (_checkingServer) return;
        _checkingServer = true;
        var self = GrainFactory.GetGrain<IDeploymentGrain>(Id);
        var grains = GrainFactory;
        _ = Detached.Run(async () =>
        {
            string? failure = null;
            try
            {
                await ServerSwap.EnsureRunningAsync(grains, Id, servers);
            }
            catch (Exception e)
            {
                failure = e.Message;
            }

            await self.ServerChecked(failure);
        }, logger, $"Checking the server of deployment {Id}");
    }

    private async Task ApplyAliasesAsync()
    {
        // Every edge drops a negative entry it holds for {id}.{base} (a request made while it was building).
        await streams.GetStream<AliasChange>(AliasChanges.Namespace, AliasChanges.Key).AppendAsync(AliasChanges.DeploymentReady(Id));
        try
        {
            var hosts = await GrainFactory.GetGrain<IProjectGrain>(ProjectKey).ClaimHosts(Deployment.Branch);
            if (hosts.Preview is { } previewHost)
            {
                await GrainFactory.GetGrain<IAliasGrain>(previewHost).Set(ProjectKey, Id);
                Deployment.PreviewHost = previewHost;
            }

            if (Deployment.Target == DeploymentTargets.Production)
            {
                var previous = await PointProductionHereAsync();
                ServerSwap.Retire(GrainFactory, previous, Id, servers, logger);
            }
        }
        catch (ConflictException e)
        {
            // A host that serves another project: this deployment must not report ready with that project's URL.
            await FailAfterBuildAsync($"Its hosts could not be pointed at it: {e.Message}");
            return;
        }

        Deployment.AliasesApplied = true;
        await state.WriteStateAsync();
    }

    /// <summary>Ends a deployment whose build was ready as failed: nothing of it serves, the reason is on the deployment.</summary>
    private async Task FailAfterBuildAsync(string error)
    {
        var server = Deployment.Manifest?.Server is not null;
        if (Deployment.PreviewHost is { } previewHost)
        {
            var preview = GrainFactory.GetGrain<IAliasGrain>(previewHost);
            if ((await preview.Get())?.DeploymentId == Id) await preview.Remove();
        }

        var held = HeldHashes();
        Deployment.Status = DeploymentStatuses.Failed;
        Deployment.Error = error;
        Deployment.Manifest = null;
        Deployment.ReadyAt = null;
        Deployment.ServerPending = false;
        Deployment.StorageReferences = null;
        await state.WriteStateAsync();
        await ReleaseStorageAsync(held);
        await GrainFactory.GetGrain<IProjectGrain>(ProjectKey).RecordDeployment(View());
        if (server) await GrainFactory.GetGrain<IServerGrain>(Id).Remove();
        await streams.GetStream<AliasChange>(AliasChanges.Namespace, AliasChanges.Key).AppendAsync(AliasChanges.DeploymentDeleted(Id));
    }

    /// <summary>The one alias write that moves production, then the project's record of it (for rollback). Answers the previous deployment.</summary>
    private async Task<string?> PointProductionHereAsync()
    {
        var project = GrainFactory.GetGrain<IProjectGrain>(ProjectKey);
        var hosts = await project.ClaimHosts(branch: null);
        var previous = await GrainFactory.GetGrain<IAliasGrain>(hosts.Production).Set(ProjectKey, Id);
        await project.RecordProduction(Id);
        return previous;
    }
}
