using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Builds;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Projects;
using CloudDeck.Grains.Servers;
using Microsoft.Extensions.Logging;
using CloudDeck.Grains.Telemetry;

namespace CloudDeck.Grains.Deployments;

/// <summary>
/// One deployment: what one build of a project produced, served at <c>{id}.{base}</c>. It queues its build, and when
/// the build is ready points its branch's preview alias (and for production, the production alias) at itself.
/// </summary>
/// <param name="artifacts">Optional so that git deployments work on a host without a store; uploads need it.</param>
public sealed partial class DeploymentGrain(
    [PersistentState("deployment")] IPersistentState<DeploymentState> state,
    EdgeUrlOptions edge,
    TimeProvider clock,
    ILogStreamProvider streams,
    ServerOptions servers,
    ILogger<DeploymentGrain> logger,
    IArtifactStore? artifacts = null) : Grain, IDeploymentGrain
{
    private DeploymentState Deployment => state.State;

    private string Id => this.GetPrimaryKeyString();

    private bool Exists => Deployment.Created && Deployment.Status != DeploymentStatuses.Deleted;

    private string ProjectKey => ProjectKeys.Of(Deployment.Organization, Deployment.Project);

    public async Task<DeploymentView> Create(Caller caller, string projectKey, DeploymentSource source, string target)
    {
        if (!DeploymentIds.IsWellFormed(Id)) throw new InvalidFieldException("id", DeploymentIds.Rule);
        if (projectKey.Split('/') is not [var organization, var name] || !ProjectKeys.IsWellFormedName(name))
        {
            throw new InvalidFieldException("project", ProjectKeys.NameRule);
        }

        // Asked before anything else: another tenant learns nothing, not even whether the project exists.
        await GrainFactory.GetGrain<IOrganizationGrain>(organization).Authorize(caller, OrganizationActions.Deploy);
        var projectGrain = GrainFactory.GetGrain<IProjectGrain>(projectKey);
        var project = await projectGrain.Get(caller);
        if (Deployment.Created) throw new ConflictException($"A deployment with id '{Id}' already exists.");
        CloudDeckActivities.TagDeployment(organization, name, Id);
        // Until the address is proven, an account deploys only a few times (CloudDeck:Accounts:UnverifiedDeployments).
        var allowance = caller.EmailVerified ? null : GrainFactory.GetGrain<IUnverifiedAllowanceGrain>(caller.UserId);
        if (allowance is not null) await allowance.Use(0, 1);
        try
        {
            await StartAsync(project, source, target, caller.UserId, sequence: 0);
        }
        catch
        {
            if (allowance is not null) await allowance.GiveBack(0, 1);
            throw;
        }

        Deployment.Sequence = await projectGrain.RecordDeployment(View());
        await state.WriteStateAsync();
        CloudDeckMetrics.DeploymentCreated(source.Files is null ? "git" : "upload");
        await AuditAsync(caller.UserId, caller.ClientAddress, "deployment.created", $"{Deployment.Project}: {Id} ({Deployment.Target})");
        return View();
    }

    public async Task<DeploymentView> CreateFromPush(ProjectView project, DeploymentSource source, string target, string pushedBy, long sequence)
    {
        if (!DeploymentIds.IsWellFormed(Id)) throw new InvalidFieldException("id", DeploymentIds.Rule);
        if (Deployment.Created) throw new ConflictException($"A deployment with id '{Id}' already exists.");
        CloudDeckActivities.TagDeployment(project.Organization, project.Name, Id);
        await StartAsync(project, source, target, pushedBy, sequence);
        CloudDeckMetrics.DeploymentCreated("git_push");
        return View();
    }

    public async Task<DeploymentView> Get(Caller caller)
    {
        await AuthorizeExisting(caller, OrganizationActions.ViewBuilds);
        return View();
    }

    public Task<DeploymentManifest?> GetManifest() => Task.FromResult(Deployment.ServableManifest());

    /// <summary>Validates the source, counts the day's deployment, queues the build and writes the deployment, building.</summary>
    private async Task StartAsync(ProjectView project, DeploymentSource source, string target, string createdBy, long sequence)
    {
        if (!DeploymentTargets.IsValid(target)) throw new InvalidFieldException("target", "must be production or preview");
        var (resolved, commit) = Resolve(project, source);
        await GrainFactory.GetGrain<IOrganizationQuotaGrain>(project.Organization).Count(QuotaLimits.DeploymentsPerDay, 1);

        var buildId = BuildIds.New();
        state.State = new DeploymentState
        {
            Created = true, Organization = project.Organization, Project = project.Name, Target = target,
            Status = DeploymentStatuses.Building, BuildId = buildId, GitRef = resolved.GitRef, Branch = resolved.Branch, Commit = commit,
            CreatedBy = createdBy, CreatedAt = clock.GetUtcNow(), Sequence = sequence,
        };
        var referenced = false;
        try
        {
            // An upload's files are referenced before the deployment is written: none can be let go while it builds.
            if (resolved.Files is { } files)
            {
                await ReferenceAsync(project.Organization, files);
                referenced = true;
            }

            // Written before the build exists, so the build's report always finds its deployment.
            await state.WriteStateAsync();
            await GrainFactory.GetGrain<IBuildGrain>(buildId).Queue(
                new BuildRequest(project.Organization, project.Name, Id, target, resolved, createdBy));
        }
        catch
        {
            // Refused (builds per day, build minutes) or not stored: nothing of this deployment remains.
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
    }

    /// <summary>The source as the build gets it: an upload whose files are all stored, or a git ref (default: the production branch).</summary>
    private (DeploymentSource Source, string? Commit) Resolve(ProjectView project, DeploymentSource source)
    {
        if (source.Branch is { } branch) ProjectRules.GitRef(branch, "branch");
        if (source.Files is { } files)
        {
            if (source.GitRef is not null) throw new InvalidFieldException("files", "give git_ref or files, not both");
            if (files.Count == 0) throw new InvalidFieldException("files", "must list at least one file");
            ManifestValidation.Validate(files);
            var store = artifacts ?? throw new ConflictException("This server has no artifact store, so it cannot deploy uploaded files.");
            // Only contents this organization uploaded (or built): a hash another tenant stored is not a file it may serve.
            var missing = store.MissingFor(project.Organization, files.Select(f => f.Sha256));
            if (missing.Count > 0)
            {
                throw new InvalidFieldException("files",
                    $"{missing.Count} file(s) are not uploaded yet (upload them first, PUT /api/v1/orgs/{{slug}}/files/{{sha256}}): {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", …" : "")}");
            }

            // The manifest's sizes are what the edge announces (Content-Length) and what usage counts: they must be true.
            for (var i = 0; i < files.Count; i++)
            {
                var stored = new FileInfo(store.PathOf(files[i].Sha256)).Length;
                if (stored != files[i].Size)
                {
                    throw new InvalidFieldException($"files[{i}].size", $"is {files[i].Size}, but the uploaded content with that sha256 has {stored} bytes");
                }
            }

            return (new DeploymentSource(Files: files, Branch: source.Branch), null);
        }

        if (project.GitUrl is null && project.LocalPath is null)
        {
            throw new InvalidFieldException("git_ref", "the project has no git source (set git_url or local_path), so deploy files instead");
        }

        var gitRef = source.GitRef ?? project.ProductionBranch;
        ProjectRules.GitRef(gitRef, "git_ref");
        var isCommit = gitRef.Length is 40 or 64 && gitRef.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;
        return (new DeploymentSource(GitRef: gitRef, Branch: source.Branch ?? (isCommit ? null : gitRef)), isCommit ? gitRef : null);
    }

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
        GrainFactory.GetGrain<IAuditLogGrain>(Deployment.Organization).Append(actor, action, target, clientAddress);
}
