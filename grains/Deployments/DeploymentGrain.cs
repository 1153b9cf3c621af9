using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Organizations;
using CloudDeck.Grains.Projects;
using CloudDeck.Grains.Servers;
using Microsoft.Extensions.Logging;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Grains.Deployments;

/// <summary>
/// One deployment: what one build of a project produced, served at <c>{id}.{base}</c>. Its project grain creates it
/// (<see cref="Start"/>); it queues its build, and when the build is ready points its branch's preview alias (and for
/// production, the production alias) at itself.
/// </summary>
public sealed partial class DeploymentGrain(
    [PersistentState("deployment")] IPersistentState<DeploymentState> state,
    EdgeUrlOptions edge,
    TimeProvider clock,
    ILogStreamProvider streams,
    ServerOptions servers,
    ILogger<DeploymentGrain> logger,
    AuditTrail audit) : Grain, IDeploymentGrain
{
    private DeploymentState Deployment => state.State;

    private string Id => this.GetPrimaryKeyString();

    private bool Exists => Deployment.Created && Deployment.Status != DeploymentStatuses.Deleted;

    private string ProjectKey => ProjectKeys.Of(Deployment.Organization, Deployment.Project);

    public async Task<DeploymentView> Start(DeploymentStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        if (!DeploymentIds.IsWellFormed(Id)) throw new InvalidFieldException("id", DeploymentIds.Rule);
        if (Deployment.Created)
        {
            // The project retrying its call gets the deployment; anything else picked a taken id.
            return Deployment.BuildId == start.BuildId ? View() : throw new ConflictException($"A deployment with id '{Id}' already exists.");
        }

        var project = start.Project;
        CloudDeckActivities.TagDeployment(project.Organization, project.Name, Id);
        state.State = new DeploymentState
        {
            Created = true, Organization = project.Organization, Project = project.Name, Target = start.Target,
            Status = DeploymentStatuses.Building, BuildId = start.BuildId, GitRef = start.Source.GitRef, Branch = start.Source.Branch,
            Commit = start.Commit, CreatedBy = start.CreatedBy, CreatedAt = clock.GetUtcNow(), Sequence = start.Sequence,
        };
        var referenced = false;
        try
        {
            // An upload's files are referenced before the deployment is written: none can be let go while it builds.
            if (start.Source.Files is { } files)
            {
                await ReferenceAsync(project.Organization, files);
                referenced = true;
            }

            // Written before the build exists, so the build's report always finds its deployment.
            await state.WriteStateAsync();
            await GrainFactory.GetGrain<IBuildGrain>(start.BuildId).Queue(
                new BuildRequest(project.Organization, project.Name, Id, start.Target, start.Source, start.CreatedBy));
        }
        catch
        {
            // Not stored, or its build not queued: nothing of this deployment remains (the project gives back the quota).
            if (referenced)
            {
                try
                {
                    await StorageOf(project.Organization).Release(Id, Deployment.StorageReferences ?? []);
                }
                catch (Exception)
                {
                    // The caller's error (the first one) is the one to report; the files stay counted.
                }
            }

            state.State = new DeploymentState();
            try
            {
                await state.ClearStateAsync();
            }
            catch (Exception)
            {
                // Storage failing twice: the caller's error (the first one) is the one to report.
            }

            throw;
        }

        return View();
    }

    public async Task<DeploymentView> Abandon(string reason)
    {
        if (!Exists || Deployment.Status != DeploymentStatuses.Building) return View();
        if (Deployment.BuildId is { } buildId) await GrainFactory.GetGrain<IBuildExecutionGrain>(buildId).Abandon(reason);
        var held = HeldHashes();
        Deployment.Status = DeploymentStatuses.Canceled;
        Deployment.Error = reason;
        Deployment.StorageReferences = null;
        await state.WriteStateAsync();
        await ReleaseStorageAsync(held);
        return View();
    }

    public async Task<DeploymentView> Get(Caller caller)
    {
        await AuthorizeExisting(caller, OrganizationActions.ViewBuilds);
        return View();
    }

    public Task<DeploymentManifest?> GetManifest() => Task.FromResult(Deployment.ServableManifest());

    private DeploymentView View() => new(
        Id, Deployment.Organization, Deployment.Project, Deployment.Target, Deployment.Status,
        edge.UrlOf(Hostnames.Deployment(Id, edge.BaseDomain)), Deployment.BuildId, Deployment.GitRef, Deployment.Branch, Deployment.Commit,
        Deployment.CreatedBy, Deployment.CreatedAt, Deployment.ReadyAt, Deployment.Sequence)
    {
        Error = Deployment.Error,
        PreviewUrl = Deployment.PreviewHost is { } host ? edge.UrlOf(host) : null,
    };

    /// <summary>Non-members, a deployment that does not exist and a deleted one all get the same answer.</summary>
    private async Task AuthorizeExisting(Caller caller, string action)
    {
        if (!Exists) throw NotFound();
        try
        {
            await GrainFactory.GetGrain<IOrganizationGrain>(Deployment.Organization).Authorize(caller, action);
        }
        catch (NotFoundException)
        {
            throw NotFound();
        }
    }

    private NotFoundException NotFound() => new($"Deployment '{Id}' not found.");

    private Task AuditAsync(string actor, string clientAddress, string action, string target) =>
        audit.AppendAsync(Deployment.Organization, actor, action, target, clientAddress);
}
