using Actors.Extensions.Streams;
using CloudDeck.GrainInterfaces;
using CloudDeck.GrainInterfaces.Accounts;
using CloudDeck.GrainInterfaces.Deployments;
using CloudDeck.GrainInterfaces.Organizations;
using CloudDeck.GrainInterfaces.Projects;
using CloudDeck.Grains.Accounts;
using CloudDeck.Grains.Artifacts;
using CloudDeck.Grains.Organizations;
using CloudDeck.Grains.Deployments;
using CloudDeck.Grains.Servers;
using Microsoft.Extensions.Logging;

namespace CloudDeck.Grains.Projects;

/// <summary>
/// A project ("org/project"): its build settings, its encrypted environment, which deployment production serves, and
/// the creation of its deployments. Its deployment history is a table (<see cref="ProjectHistory"/>), not its state.
/// Who may do what is the organization's decision: members read, 'deploy' changes.
/// </summary>
/// <param name="artifacts">Optional so that git deployments work on a host without a store; uploads need it.</param>
public sealed partial class ProjectGrain(
    [PersistentState("project")] IPersistentState<ProjectState> state,
    SecretsKey secrets,
    EdgeUrlOptions edge,
    ProjectOptions options,
    GitHostPolicy gitHosts,
    ServerOptions servers,
    ProjectHistory history,
    AuditTrail audit,
    ILogger<ProjectGrain> logger,
    TimeProvider clock,
    IArtifactStore? artifacts = null) : Grain, IProjectGrain
{
    private const string WebhookContext = "webhook";

    private ProjectState Project => state.State;

    private string Key => this.GetPrimaryKeyString();

    private string Organization => ProjectKeys.Split(Key).Organization;

    private string Name => ProjectKeys.Split(Key).Project;

    private IProjectIndexGrain Index => GrainFactory.GetGrain<IProjectIndexGrain>(Organization);

    public async Task<ProjectView> Create(Caller caller, ProjectSettings settings)
    {
        // Asked first: a refused caller must not learn which names are taken.
        await Authorize(caller, OrganizationActions.Deploy);
        if (settings.Name is not null && settings.Name != Name) throw new InvalidFieldException("name", "must be the project's name in the key");
        ProjectRules.Name(Name);
        if (Project.Created) throw new ConflictException($"A project named '{Name}' already exists.");
        await EnsureGitHostAllowedAsync(settings);
        var fresh = new ProjectState { Name = Name, CreatedAt = clock.GetUtcNow() };
        Apply(fresh, settings);
        var webhookSecret = Secrets.NewSecret();
        fresh.WebhookSecret = secrets.Encrypt(webhookSecret, Context(WebhookContext));
        fresh.Created = true;

        // The production host is claimed first (a name another tenant's project holds gets a fallback), then the index
        // takes the name (and the plan's count); each is given back if a later step fails, so a refused or failed
        // create leaves neither a project, a counted one, nor a held host.
        fresh.ProductionHost = await ClaimAsync(Hostnames.Production(Organization, Name, edge.BaseDomain));
        var claim = GrainFactory.GetGrain<IHostClaimGrain>(fresh.ProductionHost);
        var view = View(fresh);
        try
        {
            await Index.Reserve(view);
        }
        catch
        {
            await claim.Release(Key);
            throw;
        }

        state.State = fresh;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = new ProjectState();
            await Index.Remove(Name);
            await claim.Release(Key);
            throw;
        }

        await AuditAsync(caller, "project.created", Name);
        return view with { WebhookSecret = webhookSecret };
    }

    public async Task<ProjectView> Get(Caller caller)
    {
        await AuthorizeExisting(caller, OrganizationActions.ViewBuilds);
        return View(Project);
    }

    public async Task<ProjectView> Update(Caller caller, ProjectSettings changes)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        if (changes.Name is not null && changes.Name != Name) throw new InvalidFieldException("name", "cannot be changed (it is part of the project's URLs)");
        await EnsureGitHostAllowedAsync(changes);
        // Validated on a copy, so a refused field leaves every other field as it was.
        var updated = Copy(Project);
        Apply(updated, changes);
        state.State = updated;
        await state.WriteStateAsync();
        await Index.Put(View(updated));
        await AuditAsync(caller, "project.updated", Name);
        return View(updated);
    }

    public async Task Delete(Caller caller)
    {
        await AuthorizeExisting(caller, OrganizationActions.Deploy);
        // Creations interleave: the ones under way finish (and are found below), and none starts until the delete ends.
        await StopCreationsAsync();
        try
        {
            var deployments = new List<DeploymentView>();
            await foreach (var deployment in history.NewestFirstAsync(Key)) deployments.Add(deployment);
            // Routes first: once the project is gone nothing may still serve it, and a retry finds the rest to do. A
            // project from before host claims may have set previews of branches it never claimed: those are looked at too.
            await ReleaseHostsAsync(deployments.Where(d => d.ReadyAt is not null).Select(d => d.Branch).OfType<string>());

            foreach (var deployment in deployments.Where(d => d.Status != DeploymentStatuses.Deleted))
            {
                await GrainFactory.GetGrain<IDeploymentGrain>(deployment.Id).ProjectDeleted();
            }

            await state.ClearStateAsync();
            state.State = new ProjectState();
            _lastSequence = null;
            _lastSequenceRead = null;
            await history.ForgetAsync(Key);
            await Index.Remove(Name);
        }
        finally
        {
            _deleting = false;
        }

        await AuditAsync(caller, "project.deleted", Name);
    }

    public Task<BuildPlan> GetBuildPlan(string environment)
    {
        if (!Project.Created) throw NotFound();
        ProjectRules.Environment(environment);
        var variables = Project.Env.Where(v => v.Environment == environment)
            .ToDictionary(v => v.Name, v => secrets.Decrypt(v.Ciphertext, Context(v.Environment, v.Name)), StringComparer.Ordinal);
        return Task.FromResult(new BuildPlan(View(Project, forBuild: true), variables));
    }

    /// <summary>Sets every non-null field of <paramref name="settings"/> on <paramref name="target"/>; "" clears an optional one.</summary>
    private void Apply(ProjectState target, ProjectSettings settings)
    {
        if (settings.GitUrl is { } gitUrl)
        {
            if (gitUrl.Length > 0) ProjectRules.GitUrl(gitUrl);
            SetGitUrl(target, Empty(gitUrl));
        }

        if (settings.LocalPath is { } localPath)
        {
            if (localPath.Length > 0) ProjectRules.LocalPath(localPath, options.AllowLocalSources);
            target.LocalPath = Empty(localPath);
        }

        if (target.GitUrl is not null && target.LocalPath is not null)
        {
            throw new InvalidFieldException(settings.LocalPath is not null ? "local_path" : "git_url", "a project builds from a git URL or a local path, not both");
        }

        if (settings.ProductionBranch is { } branch)
        {
            ProjectRules.GitRef(branch, "production_branch");
            target.ProductionBranch = branch;
        }

        if (settings.RootDirectory is { } root) target.RootDirectory = ProjectRules.RelativeDirectory(root, "root_directory");
        if (settings.Framework is { } framework)
        {
            if (framework.Length > 0) ProjectRules.Framework(framework);
            target.Framework = Empty(framework);
        }

        if (settings.InstallCommand is { } install)
        {
            ProjectRules.Command(install, "install_command");
            target.InstallCommand = Empty(install);
        }

        if (settings.BuildCommand is { } build)
        {
            ProjectRules.Command(build, "build_command");
            target.BuildCommand = Empty(build);
        }

        if (settings.OutputDirectory is { } output)
        {
            target.OutputDirectory = output.Length == 0 ? null : ProjectRules.RelativeDirectory(output, "output_directory");
        }

        if (settings.StartCommand is { } start)
        {
            ProjectRules.Command(start, "start_command");
            target.StartCommand = Empty(start);
        }

        if (settings.HealthCheckPath is { } health)
        {
            if (health.Length > 0) ProjectRules.HealthCheckPath(health);
            target.HealthCheckPath = Empty(health);
        }
    }

    private static string? Empty(string value) => value.Length == 0 ? null : value;

    private static ProjectState Copy(ProjectState source) => new()
    {
        Created = source.Created, Name = source.Name, GitUrl = source.GitUrl, SealedGitUrl = source.SealedGitUrl, LocalPath = source.LocalPath,
        ProductionBranch = source.ProductionBranch, RootDirectory = source.RootDirectory, Framework = source.Framework,
        InstallCommand = source.InstallCommand, BuildCommand = source.BuildCommand, OutputDirectory = source.OutputDirectory,
        StartCommand = source.StartCommand, HealthCheckPath = source.HealthCheckPath,
        CreatedAt = source.CreatedAt, WebhookSecret = source.WebhookSecret, Env = source.Env,
        ProductionHistory = source.ProductionHistory, ProductionHost = source.ProductionHost, PreviewHosts = source.PreviewHosts,
    };

    /// <param name="forBuild">Answers to requests hide credentials in the git URL; only a build's plan gets them.</param>
    private ProjectView View(ProjectState project, bool forBuild = false) => new(
        Organization, Name, forBuild ? GitUrlInClear(project) : project.GitUrl is { } url ? GitUrlCredentials.Masked(url) : null, project.LocalPath,
        project.ProductionBranch, project.RootDirectory, project.Framework, project.InstallCommand, project.BuildCommand,
        project.OutputDirectory, ProductionHost(project), project.CurrentProduction(), project.CreatedAt)
    {
        StartCommand = project.StartCommand, HealthCheckPath = project.HealthCheckPath,
    };

    /// <summary>What an encrypted value is bound to: this project, and the variable's place in it.</summary>
    private string Context(params string[] parts) => Key + "\n" + string.Join('\n', parts);

    private Task<string> Authorize(Caller caller, string action) =>
        GrainFactory.GetGrain<IOrganizationGrain>(Organization).Authorize(caller, action);

    /// <summary>Non-members and a project that does not exist get the same answer, so names do not leak.</summary>
    private async Task AuthorizeExisting(Caller caller, string action)
    {
        try
        {
            await Authorize(caller, action);
        }
        catch (NotFoundException)
        {
            throw NotFound();
        }

        if (!Project.Created) throw NotFound();
    }

    private NotFoundException NotFound() => new($"Project '{Name}' not found.");

    private Task AuditAsync(Caller caller, string action, string target) => AuditAsync(caller.UserId, caller.ClientAddress, action, target);

    private Task AuditAsync(string actor, string clientAddress, string action, string target) =>
        audit.AppendAsync(Organization, actor, action, target, clientAddress);
}
